"""The setup page's web app: the page, its script, the picture, the shapes, and saving them.

A small Starlette app meant for 127.0.0.1 only. Everything the page loads
comes from this server (package files, the picture), under a CSP like the
dashboard's. Saving changes a file, so a save must carry the token written
into the page and come as JSON: a page on another site can do neither, and
requests naming another host (DNS rebinding) are refused.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from retail_intel.accuracy.config_edit import BRANCHES_FILE, write_camera_settings
from retail_intel.camsetup.frame import Picture
from retail_intel.camsetup.shapes import SHAPE_KINDS, camera_shapes, parse_shapes, yaml_edit
from retail_intel.config.loader import load_config
from retail_intel.config.models import Camera
from retail_intel.errors import ConfigError, RetailIntelError
from retail_intel.naming import COMMAND_STEPS, DIRECTORY_NAMES

TOKEN_HEADER = "X-Setup-Token"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
_STATIC = {
    "setup.js": "text/javascript; charset=utf-8",
    "setup.css": "text/css; charset=utf-8",
}
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}


@dataclass
class SetupSession:
    """One camera being set up: where its config lives and the picture to draw on."""

    config_dir: Path
    branch_id: str
    camera_id: str
    picture: Picture
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def camera(self) -> Camera:
        # Read again on every request: the file may have been edited by hand meanwhile.
        return load_config(self.config_dir).camera(self.branch_id, self.camera_id)

    def state(self) -> dict[str, Any]:
        return {
            "branch": self.branch_id,
            "camera": self.camera_id,
            "file": str(self.config_dir / BRANCHES_FILE),
            "picture": {"width": self.picture.width, "height": self.picture.height, "source": self.picture.source},
            "kinds": [kind.to_json() for kind in SHAPE_KINDS],
            "shapes": [shape.to_json() for shape in camera_shapes(self.camera())],
        }

    def save(self, payload: object) -> dict[str, Any]:
        """Write the page's shapes into branches.yaml (validated first); the state read back from the file."""
        shapes = parse_shapes(payload, self.picture.width, self.picture.height)
        with self.lock:
            values, remove = yaml_edit(shapes, self.camera())
            write_camera_settings(self.config_dir, self.branch_id, self.camera_id, values, remove=remove)
        return self.state()


def _resource(name: str) -> bytes:
    return resources.files("retail_intel.camsetup").joinpath("static", name).read_bytes()


def _problem(exc: RetailIntelError, status: int = 422) -> JSONResponse:
    # the page is what `retail-intel setup` opens: its next steps are worded as the CLI words them
    said = exc.worded_for(DIRECTORY_NAMES, COMMAND_STEPS)
    problems = exc.problems if isinstance(exc, ConfigError) else [said]
    return JSONResponse({"error": said, "problems": problems}, status_code=status, headers=_HEADERS)


def create_setup_app(session: SetupSession) -> Starlette:
    page = _resource("setup.html").decode().replace("{{TOKEN}}", session.token).encode()

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers={**_HEADERS, "Cache-Control": "no-store"})

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _STATIC:
            return Response("not found", status_code=404, headers=_HEADERS)
        return Response(_resource(name), media_type=_STATIC[name], headers=_HEADERS)

    async def no_icon(request: Request) -> Response:
        # Browsers ask for one; answering "no content" keeps a 404 out of the console.
        return Response(status_code=204, headers=_HEADERS)

    async def picture(request: Request) -> Response:
        return Response(session.picture.data, media_type=session.picture.media_type, headers=_HEADERS)

    async def state(request: Request) -> Response:
        try:
            return JSONResponse(session.state(), headers={**_HEADERS, "Cache-Control": "no-store"})
        except RetailIntelError as exc:
            # branches.yaml edited by hand into an invalid state (or the camera renamed): the file's
            # problem, not the server's; 503 as serve answers for a config it cannot read, and the
            # page shows the reason until Reload finds the file fixed
            return _problem(exc, 503)

    async def save(request: Request) -> Response:
        if not secrets.compare_digest(request.headers.get(TOKEN_HEADER, ""), session.token):
            return JSONResponse({"error": "missing or wrong setup token"}, status_code=403, headers=_HEADERS)
        # media types are case-insensitive (RFC 9110): "Application/JSON" from a script is JSON too
        media_type = request.headers.get("content-type", "").split(";")[0].strip()
        if media_type.lower() != "application/json":
            return JSONResponse(
                {"error": f"expected Content-Type application/json, got {media_type or 'none'!r}"},
                status_code=415,
                headers=_HEADERS,
            )
        try:
            payload = json.loads(await request.body())
        except ValueError as exc:
            return JSONResponse({"error": f"the body is not JSON: {exc}"}, status_code=400, headers=_HEADERS)
        except RecursionError:
            # the parser recurses per bracket: '[' nested a thousand deep was a 500 with a traceback
            return JSONResponse(
                {"error": 'the body is JSON nested too deeply; expected {"shapes": [...]} as the page sends it'},
                status_code=400,
                headers=_HEADERS,
            )
        try:
            return JSONResponse(session.save(payload), headers=_HEADERS)
        except RetailIntelError as exc:
            return _problem(exc)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/static/{name}", static),
            Route("/picture", picture),
            Route("/favicon.ico", no_icon),
            Route("/api/setup", state),
            Route("/api/shapes", save, methods=["POST"]),
        ],
        middleware=[Middleware(_LocalOnly)],
    )


class _LocalOnly:
    """Refuse requests whose Host is not this machine (a DNS-rebinding page would name its own host)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            name = host if host.endswith("]") else host.rsplit(":", 1)[0]
            # host names are case-insensitive (RFC 9110): a browser may send what the user typed, "LOCALHOST:8000"
            if name.lower() not in _LOCAL_HOSTS:
                refused = Response(f"refused: Host {host!r} is not this machine", status_code=403, headers=_HEADERS)
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)
