"""The dashboard at ``/``: a page, its script and styles, and the JSON it draws from.

The page is static; ``dashboard.js`` fetches ``/report/{branch}`` (the HTML
report's own sections, drawn on the server by :mod:`retail_intel.report`) and
polls ``/data-version`` to redraw when new data arrives. Everything the page
loads comes from this server: no CDN, no web fonts, so it works on a shop's
closed network.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from concurrent.futures import Future
from importlib import resources
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from retail_intel.config.loader import Config
from retail_intel.errors import InputError
from retail_intel.report.data import check_day, check_days
from retail_intel.serve.bytecache import ByteLru
from retail_intel.serve.drawgate import ClientGone, GateFull
from retail_intel.serve.jsonio import JSONBytes, dumps
from retail_intel.serve.models import DataVersion, Problem, ReportPage, ValidationProblem
from retail_intel.serve.params import MAX_ID_LENGTH, IsoDate, bad_parameter
from retail_intel.serve.settings import ServeSettings

router = APIRouter()

# A dashboard view is drawn on request; three months keeps one around a second.
DASHBOARD_MAX_DAYS = 92

# Inline SVG carries style attributes, hence 'unsafe-inline' for styles only;
# scripts come from this server alone and nothing is fetched elsewhere.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_STATIC: dict[str, tuple[str, str, str]] = {
    # name: (package, resource path, media type)
    "dashboard.js": ("retail_intel.serve", "static/dashboard.js", "text/javascript; charset=utf-8"),
    "dashboard.css": ("retail_intel.serve", "static/dashboard.css", "text/css; charset=utf-8"),
    "report.css": ("retail_intel.report", "assets/report.css", "text/css; charset=utf-8"),
}


def _resource(package: str, name: str) -> bytes:
    return resources.files(package).joinpath(name).read_bytes()


class ReportPages:
    """Dashboard payloads, drawn once per branch, days and data version."""

    def __init__(self, data_dir: FsPath, *, cache: ByteLru | None = None) -> None:
        self.data_dir = data_dir
        # Drawn pages live in the server's byte-bounded cache, next to the KPI answers.
        self.cache = ByteLru(ServeSettings().cache_bytes) if cache is None else cache
        # Views being drawn right now: a second request for one waits for it instead of drawing it again.
        self._drawing: dict[tuple[Any, ...], Future[bytes]] = {}
        self._lock = threading.Lock()

    def ready(self, branch_id: str, first: dt.date | None, last: dt.date | None, version: str) -> bool:
        """Whether this view is cached or being drawn, so that asking for it costs no new drawing."""
        key = (branch_id, first, last, version)
        with self._lock:
            return key in self._drawing or self.cache.get(("report", *key)) is not None

    def get(self, config: Config, branch_id: str, first: dt.date | None, last: dt.date | None, version: str) -> bytes:
        """The payload for these arguments: from memory, or drawn once however many ask at the same time."""
        key = (branch_id, first, last, version)
        page: bytes | None = self.cache.get(("report", *key))
        if page is not None:
            return page
        with self._lock:
            drawing = self._drawing.get(key)
            owner = drawing is None
            if drawing is None:
                drawing = self._drawing[key] = Future()
        if not owner:
            return drawing.result()
        try:
            body = report_payload(config, self.data_dir, branch_id, first, last, version)
        except BaseException as exc:
            drawing.set_exception(exc)
            raise
        else:
            self.cache.put(("report", *key), body, sys.getsizeof(body))
            drawing.set_result(body)
            return body
        finally:
            with self._lock:
                del self._drawing[key]


def report_payload(
    config: Config, data_dir: FsPath, branch_id: str, first: dt.date | None, last: dt.date | None, version: str
) -> bytes:
    """The :class:`ReportPage` JSON for one branch and days."""
    from retail_intel.report.data import collect_report
    from retail_intel.report.page import SECTION_ORDER, report_view

    data = collect_report(config, data_dir, branch_id, first, last, max_days=DASHBOARD_MAX_DAYS, names=("date", "to"))
    view = report_view(data)
    span = data.data_span
    return dumps(
        {
            "branch_id": data.branch_id,
            "branch_name": data.branch_name,
            "timezone": data.timezone,
            "first_day": data.first_day,
            "last_day": data.last_day,
            "data_first_day": span[0] if span else None,
            "data_last_day": span[1] if span else None,
            "traffic_minutes": data.traffic_minutes,
            "occupancy_minutes": data.occupancy_minutes,
            "title": view.title,
            "subtitle": view.subtitle,
            "summary": {
                "visitors": data.visitors,
                "passed": data.passed,
                "conversion": data.conversion,
                "peak_occupancy": data.peak_occupancy,
                "capacity": data.capacity,
                "mean_dwell_seconds": data.mean_dwell,
                "median_dwell_seconds": data.median_dwell,
            },
            "periods": [{"kind": p.kind, "name": p.name, "start": p.start, "end": p.end} for p in data.periods],
            "sections": view.sections,
            "section_order": list(SECTION_ORDER),
            "kpis": view.kpis,
            "data_version": version,
        }
    )


def _state(request: Request) -> Any:
    return request.app.state.retail_intel


_NO_CACHE = {"Cache-Control": "no-cache"}
CLIENT_CLOSED_REQUEST = 499  # as nginx logs it: the client left before the answer


@router.get("/", include_in_schema=False)
async def dashboard() -> Response:
    body = _resource("retail_intel.serve", "static/dashboard.html")
    return Response(body, media_type="text/html; charset=utf-8", headers={"Content-Security-Policy": _CSP, **_NO_CACHE})


@router.get("/static/{name}", include_in_schema=False)
async def static(name: str) -> Response:
    found = _STATIC.get(name)
    if found is None:
        return JSONBytes(dumps({"detail": f"no static file {name!r}"}), status_code=404)
    package, resource, media_type = found
    return Response(_resource(package, resource), media_type=media_type, headers=_NO_CACHE)


@router.get(
    "/data-version",
    response_model=DataVersion,
    responses={
        404: {"model": Problem, "description": "Unknown branch."},
        422: {"model": ValidationProblem, "description": "A parameter is invalid; detail names it."},
    },
    tags=["status"],
)
async def data_version(
    request: Request,
    branch: Annotated[
        str | None,
        Query(
            description="Only what a report on this branch reads (404 if unknown).",
            max_length=MAX_ID_LENGTH,
            examples=["b1"],
        ),
    ] = None,
) -> Any:
    """A token that changes when the data or config behind a report changes (the dashboard polls it)."""
    state = _state(request)
    if branch is None:
        return {"version": await run_in_threadpool(state.data_version)}
    _, signature = state.config_signature_with(branch)
    return {"version": await run_in_threadpool(state.data_version, branch, signature)}


@router.get(
    "/report/{branch_id}",
    response_model=ReportPage,
    responses={
        404: {"model": Problem, "description": "Unknown branch."},
        422: {"model": ValidationProblem, "description": "A parameter is invalid; detail names it."},
        503: {
            "model": Problem,
            "description": "The config or data directory cannot be read, or too many new views are being drawn "
            "(then with a Retry-After header).",
        },
    },
    tags=["data"],
)
async def report(
    request: Request,
    branch_id: Annotated[
        str, Path(description="A branch id from branches.yaml.", max_length=MAX_ID_LENGTH, examples=["b1"])
    ],
    date: Annotated[
        IsoDate | None,
        Query(
            description="First day, in the branch's timezone (default: the last day with movements).",
            examples=["2026-03-02"],
        ),
    ] = None,
    to: Annotated[
        IsoDate | None,
        Query(
            description=f"Last day, inclusive (default: date); at most {DASHBOARD_MAX_DAYS} days in all.",
            examples=["2026-03-03"],
        ),
    ] = None,
) -> Response:
    """The HTML report's charts, heatmaps and KPI table for a branch and days, as the dashboard shows them."""
    state = _state(request)
    # One look at the config: the page is drawn from, and cached under, the same version of it.
    config, signature = state.config_signature_with(branch_id)
    first, last = date or to, to or date  # one of them alone means that one day, as in collect_report
    # Checked here as well as in collect_report, so a bad day or range is a 422 naming its parameter.
    for day, name in ((date, "date"), (to, "to")):
        if day is not None:
            try:
                check_day(day, name)
            except InputError as exc:
                raise bad_parameter(name, str(exc)) from exc
    if first is not None and last is not None:
        try:
            check_days(first, last, max_days=DASHBOARD_MAX_DAYS, names=("date", "to"))
        except InputError as exc:
            raise bad_parameter("to" if to is not None else "date", str(exc)) from exc
    version = await run_in_threadpool(state.data_version, branch_id, signature)
    if state.reports.ready(branch_id, date, to, version):
        body = await run_in_threadpool(state.reports.get, config, branch_id, date, to, version)
        return JSONBytes(body)
    # A new drawing: wait for one of a few turns (drawgate), or 503 when too many already wait.
    try:
        async with state.draw_gate.turn(request.is_disconnected):
            body = await run_in_threadpool(state.reports.get, config, branch_id, date, to, version)
    except GateFull as exc:
        retry = {"Retry-After": str(state.settings.retry_after_s)}
        raise HTTPException(503, str(exc), headers=retry) from None
    except ClientGone:
        return Response(status_code=CLIENT_CLOSED_REQUEST)  # nobody is left to read it
    return JSONBytes(body)
