"""``/docs`` works on a closed network: the page refers only to this server, and every file it names answers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from retail_intel.serve import create_app
from retail_intel.serve.openapi30 import as_openapi_30
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


def test_the_docs_page_reads_a_schema_its_swagger_ui_can_draw(api: Api) -> None:
    # Before, the page gave its Swagger UI (4.x, OpenAPI 3.0 only) FastAPI's 3.1 schema, and the page
    # the dashboard links to showed only "Unable to render this definition".
    page = api.get("/docs").text
    (url,) = re.findall(r"\burl\s*:\s*'([^']+)'", page)
    drawn = api.get(url).json()
    assert drawn["openapi"].startswith("3.0.")
    original = api.get("/openapi.json").json()
    assert original["openapi"].startswith("3.1.")  # what code generators are given stays as it is
    assert drawn["paths"].keys() == original["paths"].keys()
    text = json.dumps(drawn)
    for form in ('{"type": "null"}', '"const":', '"prefixItems":', '"type": ['):
        assert form not in text, form
    assert re.search(r'"examples": \[', text) is None
    assert '"nullable": true' in text  # the optional parameters still say so


def test_optional_values_and_references_keep_their_meaning_in_3_0() -> None:
    schema = {
        "openapi": "3.1.0",
        "a": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}], "title": "Date"},
        "b": {"anyOf": [{"$ref": "#/components/schemas/X"}, {"type": "null"}]},
        "c": {"type": ["integer", "null"], "const": 3, "examples": [3]},
    }
    converted = as_openapi_30(schema)
    assert converted["a"] == {"type": "string", "format": "date", "title": "Date", "nullable": True}
    assert converted["b"] == {"allOf": [{"$ref": "#/components/schemas/X"}], "nullable": True}
    assert converted["c"] == {"type": "integer", "nullable": True, "enum": [3], "example": 3}
    assert schema["openapi"] == "3.1.0" and "anyOf" in schema["a"]  # the original is untouched
