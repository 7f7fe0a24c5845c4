"""``/docs``: Swagger UI from files installed with the package, never from a CDN.

FastAPI's own ``/docs`` page loads Swagger UI's script and styles from a CDN
and so shows a blank page on a shop's closed network. The ``swagger-ui-bundle``
package ships those files; this router serves the three the page needs under
``/docs/assets/`` and a page that refers to nothing else. The content security
policy makes a browser refuse anything from elsewhere too. ReDoc, which
FastAPI also loads from a CDN, is not offered.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import Response
from swagger_ui_bundle import swagger_ui_path

from retail_intel.serve.jsonio import JSONBytes, dumps
from retail_intel.serve.openapi30 import as_openapi_30

router = APIRouter()

DOCS_URL = "/docs"
# The schema as the page's Swagger UI (4.x, OpenAPI 3.0 only) reads it; /openapi.json stays 3.1.
DOCS_SCHEMA_URL = "/docs/openapi.json"
ASSETS_URL = "/docs/assets"
ASSETS: dict[str, str] = {
    # file in swagger-ui-bundle: media type
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
# The page's one inline script starts Swagger UI; everything else comes from this server.
_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@lru_cache(maxsize=len(ASSETS))
def _asset(name: str) -> bytes:
    data: bytes = swagger_ui_path.joinpath(name).read_bytes()
    return data


@router.get(DOCS_URL, include_in_schema=False)
async def docs() -> Response:
    page = get_swagger_ui_html(
        openapi_url=DOCS_SCHEMA_URL,
        title="retail-intel API",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
        # No validator badge: Swagger UI would send the schema to validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None, "deepLinking": True},
    )
    page.headers["Content-Security-Policy"] = _CSP
    return page


@router.get(DOCS_SCHEMA_URL, include_in_schema=False)
async def docs_schema(request: Request) -> Response:
    return JSONBytes(dumps(as_openapi_30(request.app.openapi())))


@router.get(ASSETS_URL + "/{name}", include_in_schema=False)
async def docs_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        return JSONBytes(dumps({"detail": f"no documentation asset {name!r}"}), status_code=404)
    # The files change only with the installed package: let browsers keep them for a day.
    return Response(_asset(name), media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
