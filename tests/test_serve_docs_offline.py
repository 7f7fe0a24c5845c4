"""``/docs`` works on a closed network: the page refers only to this server, and every file it names answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from retail_intel.serve import create_app
from tests.test_serve_support import Api, make_site

# Anything a browser would fetch: src/href attributes and url: '...' in the inline script.
_REFERENCES = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|\burl\s*:\s*["']([^"']+)["']""")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    site = make_site(Path(tmp_path_factory.mktemp("site")))
    return Api(create_app(site.config_dir, site.data_dir))


def test_the_docs_page_names_only_local_urls_and_each_answers(api: Api) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    referenced = [a or b for a, b in _REFERENCES.findall(page.text)]
    assert len(referenced) >= 4  # stylesheet, icon, script, schema
    assert "http" not in page.text.lower().replace("http-equiv", "")
    for url in referenced:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        answer = api.get(url)
        assert answer.status_code == 200, url
        assert len(answer.content) > 0
    assert "validatorUrl" in page.text and '"validatorUrl": null' in page.text


def test_the_docs_page_forbids_loading_from_elsewhere(api: Api) -> None:
    policy = api.get("/docs").headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "https:" not in policy and "*" not in policy


def test_the_swagger_assets_are_the_installed_files(api: Api) -> None:
    script = api.get("/docs/assets/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in script.content
    assert api.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("name", ["../__init__.py", "index.html", "swagger-ui-bundle.js.map", "%2e%2e%2fMETADATA"])
def test_other_files_of_the_package_are_not_served(api: Api, name: str) -> None:
    answer = api.get(f"/docs/assets/{name}")
    assert answer.status_code == 404
    assert list(answer.json()) == ["detail"]


def test_redoc_which_needs_a_cdn_is_not_offered(api: Api) -> None:
    assert api.get("/redoc").status_code == 404
