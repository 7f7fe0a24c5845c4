"""How failures become HTTP responses, without tracebacks or file paths.

* A request parameter that does not validate: 422 naming the parameter.
* Unknown branch or customer: 404 (raised by the routes as :class:`NotFound`).
* A :class:`RetailIntelError`: 422 for bad input, 503 for a config or data
  problem on the server's side, its message with every file path removed.
* Anything else: 500 ``{"detail": "internal error"}``; the traceback goes to
  the server's log only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from retail_intel.errors import InputError, RetailIntelError
from retail_intel.naming import COMMAND_STEPS, DIRECTORY_NAMES
from retail_intel.serve.jsonio import json_response

log = logging.getLogger("retail_intel.serve")

INTERNAL_ERROR = "internal error"

# An absolute POSIX path of two or more parts ("/srv/data", not the route
# "/branches"), a Windows drive path, or a relative path with a folder part
# and a file extension ("config/branches.yaml").
_PATHS = re.compile(
    r"(?<![\w.])/[^\s/'\"(),;]+(?:/[^\s'\"(),;]*)+"
    r"|(?<![\w.])[A-Za-z]:\\[^\s'\"(),;]*"
    r"|\b[\w.-]+(?:/[\w.-]+)+\.[A-Za-z]{2,8}\b"
)


class NotFound(Exception):
    """A branch, customer or other resource named in the request does not exist."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def scrub_paths(text: str, named: Sequence[tuple[Path, str]] = ()) -> str:
    """``text`` without file paths of this machine.

    A path inside one of the ``named`` directories keeps its part below that
    directory ("<data>/movements/b1/..."), which says which file without
    saying where the data directory lives; any other path becomes ``<path>``.
    """
    forms = sorted(
        {(form.rstrip("/") or form, name) for path, name in named for form in (str(path), str(path.resolve()))},
        key=lambda pair: len(pair[0]),
        reverse=True,
    )
    forms = [(form, name) for form, name in forms if form not in ("", ".")]

    def replace(match: re.Match[str]) -> str:
        found, tail = match.group(0), ""
        if found.endswith(":"):  # "<dir>: holds no ...": the colon ends the path, it is not part of it
            found, tail = found[:-1], ":"
        for form, name in forms:
            if found == form or found.startswith(form + "/"):
                return name + found[len(form) :] + tail
        return "<path>" + tail

    text = _PATHS.sub(replace, text)
    for form, name in forms:
        if form.startswith("/"):  # a one-part absolute directory such as /data
            text = re.sub(rf"(?<![\w.]){re.escape(form)}(?![\w.-])", name, text)
    return text


def _parameter_problems(errors: Iterable[Any]) -> list[dict[str, str]]:
    problems = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        location = loc[0] if loc else "request"
        parameter = ".".join(loc[1:]) if len(loc) > 1 else location
        message = str(error.get("msg", "invalid value"))
        # pydantic prefixes messages of custom validators with "Value error, ".
        message = message.removeprefix("Value error, ")
        # pydantic's own checks say what was expected but not what arrived ("Input should be less
        # than or equal to 1" for threshold=nan); the custom validators (value_error) quote it already.
        sent = error.get("input")
        if isinstance(sent, str) and error.get("type") not in ("value_error", "missing"):
            message += f", got {sent[:40]!r}"
        problems.append({"parameter": parameter, "location": location, "message": message})
    return problems


def validation_response(problems: list[dict[str, str]]) -> Response:
    first = problems[0] if problems else {"parameter": "request", "location": "request", "message": "invalid"}
    detail = f"{first['location']} parameter {first['parameter']!r}: {first['message']}"
    if len(problems) > 1:
        detail += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return json_response({"detail": detail, "errors": problems}, status_code=422)


def install_error_handlers(app: FastAPI, named_dirs: Sequence[tuple[Path, str]]) -> None:
    """Register the handlers described in the module docstring on ``app``."""

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = _parameter_problems(exc.errors())
        for problem in problems:
            problem["message"] = scrub_paths(problem["message"], named_dirs)
        return validation_response(problems)

    async def on_not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotFound)
        return json_response({"detail": scrub_paths(exc.detail, named_dirs)}, status_code=404)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return json_response(
            {"detail": scrub_paths(str(exc.detail), named_dirs)}, status_code=exc.status_code, headers=exc.headers
        )

    async def on_library(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RetailIntelError)
        status = 422 if isinstance(exc, InputError) else 503
        # named as serve's operator gave them (its flags or variables), as the CLI words them
        detail = scrub_paths(exc.worded_for(DIRECTORY_NAMES, COMMAND_STEPS), named_dirs)
        if status == 503:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        return json_response({"detail": detail}, status_code=status)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return json_response({"detail": INTERNAL_ERROR}, status_code=500)

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(NotFound, on_not_found)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RetailIntelError, on_library)
    app.add_exception_handler(Exception, on_unexpected)
