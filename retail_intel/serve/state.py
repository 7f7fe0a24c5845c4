"""What one server process holds: the config (reloaded when its YAML changes), the data readers and caches.

The config is re-read when any of its YAML files changes on disk; if the new
YAML does not load, the last good config keeps being served and ``/health``
says why. Parquet files are looked up again for every query, so data written
by a batch job while the server runs shows up on the next request.

The KPI endpoint, the hot path, has its own caches
(:mod:`retail_intel.serve.kpicache`), invalidated by the same file identity
checks, so they never serve data that has since changed either.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa

from retail_intel import __version__
from retail_intel.config.loader import CONFIG_FILES, Config, MissingConfigError, load_config
from retail_intel.datadir import describe_data_dir
from retail_intel.errors import ConfigError
from retail_intel.movements.overlap import rows_counted_once
from retail_intel.naming import COMMAND_STEPS, DIRECTORY_NAMES
from retail_intel.serve import files
from retail_intel.serve.bytecache import ByteLru
from retail_intel.serve.dashboard import ReportPages
from retail_intel.serve.drawgate import DrawGate
from retail_intel.serve.errors import NotFound, scrub_paths
from retail_intel.serve.jsonio import dumps, table_rows
from retail_intel.serve.kpicache import KpiCache, to_us
from retail_intel.serve.params import encode_cursor
from retail_intel.serve.queries import Reader
from retail_intel.serve.repeatgate import RepeatGate
from retail_intel.serve.settings import ServeSettings
from retail_intel.sqlviews import open_database
from retail_intel.storage import is_plain_name

CUSTOMER_ROWS_SHOWN = 1000
_CUSTOMER_ROWS_READ = 100_000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


ConfigSignature = tuple[files.FileKey | None, ...]


class ConfigCache:
    """The config directory, loaded once and again whenever one of its files changes."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self._paths = [config_dir / spec.filename for spec in CONFIG_FILES]
        self._lock = threading.Lock()
        signature = self.signature_on_disk()
        # The config served and the signature of the files it stands for, swapped as one.
        self._current = (load_config(config_dir), signature)  # a broken config at start-up stops the server
        self.loaded_at = _now()
        self.problem: str | None = None

    def signature_on_disk(self) -> ConfigSignature:
        """Identity of each YAML file as it is now (None for a missing one)."""
        return tuple(files.file_key(path) for path in self._paths)

    def get(self) -> Config:
        return self.get_with_signature()[0]

    def get_with_signature(self) -> tuple[Config, ConfigSignature]:
        """The config, reloaded first if a file changed, and the file signature it was served for.

        On the event loop nothing is reloaded: parsing YAML may take long (or,
        for a hostile file, forever) and would freeze every route.
        :class:`~retail_intel.serve.configrefresh.ConfigRefresh` reloads in a
        worker thread before a request reaches its route, so the route finds
        the config current; if a file changed since, it gets the last one loaded.
        """
        current = self._current
        if _on_event_loop():
            return current
        signature = self.signature_on_disk()
        if signature != current[1]:
            with self._lock:
                if signature != self._current[1]:
                    self._reload(signature)
                current = self._current
        return current

    def refresh(self) -> None:
        """Reload if a file changed; for a worker thread. Returns at once while another thread reloads."""
        signature = self.signature_on_disk()
        if signature == self._current[1] or not self._lock.acquire(blocking=False):
            return
        try:
            if signature != self._current[1]:
                self._reload(signature)
        finally:
            self._lock.release()

    def stale(self) -> bool:
        """Whether a YAML file changed since the config served was loaded."""
        return self.signature_on_disk() != self._current[1]

    def _reload(self, signature: ConfigSignature) -> None:
        config = self._current[0]
        try:
            config = load_config(self.config_dir)
        except ConfigError as exc:
            problem = exc.worded_for(DIRECTORY_NAMES) if isinstance(exc, MissingConfigError) else exc.problems[0]
            if len(exc.problems) > 1:
                problem += f" (and {len(exc.problems) - 1} more; run retail-intel validate to list them)"
            self.problem = scrub_paths(problem, [(self.config_dir, "<config>")])
        else:
            self.loaded_at = _now()
            self.problem = None
        # Remembered even on failure: the broken YAML is not re-read until it
        # changes again, and the last good config is served for it meanwhile.
        self._current = (config, signature)


class ServeState:
    """Everything the routes read, for one config directory and one data directory."""

    def __init__(self, config_dir: Path, data_dir: Path, settings: ServeSettings | None = None) -> None:
        self.config_dir = config_dir
        self.data_dir = data_dir
        self.settings = ServeSettings() if settings is None else settings
        self.configs = ConfigCache(config_dir)
        self.reader = Reader(open_database(config_dir, data_dir, read_only=True, check_files=False))
        self.movement_index = files.MovementIndex(data_dir)
        self.repeats = RepeatGate(data_dir)
        # One memory ceiling, in bytes, for every cache of this process.
        self.cache = ByteLru(self.settings.cache_bytes)
        self.kpis = KpiCache(data_dir, cache=self.cache)
        self.reports = ReportPages(data_dir, cache=self.cache)
        self.draw_gate = DrawGate(self.settings.report_workers, self.settings.report_queue)

    def close(self) -> None:
        self.reader.close()

    @property
    def named_dirs(self) -> list[tuple[Path, str]]:
        """Directories to name instead of showing their path in messages."""
        return [(self.config_dir, "<config>"), (self.data_dir, "<data>")]

    # --- config ---------------------------------------------------------

    def config(self) -> Config:
        return self.configs.get()

    def config_with(self, branch_id: str) -> Config:
        """The config, having checked that it defines ``branch_id``; :class:`NotFound` (404) if not.

        Routes use the config returned here rather than asking again, so a
        reload in between cannot make a checked branch disappear.
        """
        return self.config_signature_with(branch_id)[0]

    def config_signature_with(self, branch_id: str) -> tuple[Config, ConfigSignature]:
        """:meth:`config_with` and the signature of the YAML files that config stands for."""
        config, signature = self.configs.get_with_signature()
        if not any(branch.id == branch_id for branch in config.branches):
            raise NotFound(f"unknown branch {branch_id!r}; GET /branches lists the {len(config.branches)} configured")
        return config, signature

    # --- movements and customers ---------------------------------------

    def _movement_paths(
        self, branch_id: str | None, start: dt.datetime | None, end: dt.datetime | None
    ) -> list[tuple[str, files.FileKey]]:
        start_us = None if start is None else to_us(start)
        end_us = None if end is None else to_us(end)
        branch_files = self.movement_index.files(branch_id)
        # a copied file would answer its people twice: checked when these files changed since the last check
        self.repeats.check(branch_id, branch_files)
        listed = [(f.path, f.key) for f in files.overlapping(branch_files, start_us, end_us)]
        if branch_id is not None and is_plain_name(branch_id):
            listed += files.moved_elsewhere(self.movement_index.root, branch_id, listed)
        return listed

    def movement_page(
        self,
        *,
        branch_id: str | None,
        start: dt.datetime | None,
        end: dt.datetime | None,
        action_type: str | None,
        after: tuple[dt.datetime, str] | None,
        limit: int,
    ) -> bytes:
        # One row more than asked tells whether another page follows.
        table = self.reader.movements(
            lambda: self._movement_paths(branch_id, start, end),
            branch_id=branch_id,
            start=start,
            end=end,
            action_type=action_type,
            after=after,
            limit=limit + 1,
        )
        rows = table_rows(table.slice(0, limit))
        next_cursor = None
        if table.num_rows > limit and rows:
            last = rows[-1]
            next_cursor = encode_cursor(to_us(last["enter_time"]), last["customer_id"])
        return dumps({"rows": rows, "count": len(rows), "limit": limit, "next_cursor": next_cursor})

    def customer(self, customer_id: str) -> bytes:
        table = self.reader.customer(lambda: self._movement_paths(None, None, None), customer_id, _CUSTOMER_ROWS_READ)
        if table.num_rows == 0:
            raise NotFound(f"no movements for customer {customer_id!r}")
        return dumps(_customer_summary(customer_id, table))

    # --- dashboard ------------------------------------------------------

    def data_version(self, branch_id: str | None = None, config_signature: ConfigSignature | None = None) -> str:
        """Changes whenever what a report on ``branch_id`` (all branches: None) is drawn from changes.

        That is its movement, trajectory, zone and queue files, its camera pictures,
        the config (``config_signature`` when the caller already holds the config
        it stands for) and today's date where the branch is (every branch's, for
        all branches), which is the default day of a branch without data: a branch
        east of UTC starts its new day before UTC does.
        """
        digest = hashlib.blake2b(digest_size=8)
        for path in files.report_inputs(self.data_dir, branch_id):
            digest.update(f"{path}\0{files.file_key(path)}\n".encode())
        signature = config_signature if config_signature is not None else self.configs.get_with_signature()[1]
        digest.update(repr(signature).encode())
        now = _now()
        zones = {b.tzinfo for b in self.configs.get().branches if branch_id is None or b.id == branch_id}
        for day in sorted({now.astimezone(zone).date() for zone in zones} or {now.date()}):
            digest.update(day.isoformat().encode())
        return digest.hexdigest()

    # --- health ---------------------------------------------------------

    def health(self) -> dict[str, Any]:
        config = self.config()
        movement_files = self.movement_index.files()
        # the check the data routes make (a missing or empty --data-dir answers 503 there)
        data_problem = describe_data_dir(self.data_dir, count_files=False).problem(DIRECTORY_NAMES, COMMAND_STEPS)
        if data_problem is None:
            # a copied movement file, as /movements answers 503 for it (checked once per change of files)
            data_problem = self.repeats.problem(None, movement_files)
        if data_problem is not None:
            data_problem = scrub_paths(data_problem, [(self.data_dir, "<data>")])
        return {
            "status": "ok" if self.configs.problem is None and data_problem is None else "degraded",
            "version": __version__,
            "config_dir": str(self.config_dir),
            "data_dir": str(self.data_dir),
            "config": {
                "ok": self.configs.problem is None,
                "loaded_at": self.configs.loaded_at,
                "problem": self.configs.problem,
            },
            "data": {"ok": data_problem is None, "problem": data_problem},
            "counts": {
                "branches": len(config.branches),
                "employees": len(config.employees),
                "tasks": len(config.tasks),
                "events": len(config.events),
                "promotions": len(config.promotions),
                "movement_files": len(movement_files),
                # a video both in its compacted month and in its own file is counted once, as read
                "movements": rows_counted_once([(Path(f.path), f.rows) for f in movement_files]),
                "kpi_files": files.kpi_file_count(self.data_dir),
            },
            "kpi_windows": files.kpi_windows(self.data_dir),
            "last_processed_video": files.last_run(self.data_dir),
            "cache": {
                "bytes_held": self.cache.bytes_held,
                "ceiling_bytes": self.cache.max_bytes,
                "entries": len(self.cache),
            },
        }


def _customer_summary(customer_id: str, table: pa.Table) -> dict[str, Any]:
    """The ``customers`` view's row for one person (same definitions), plus the movements."""
    rows = table_rows(table)
    entered = [r for r in rows if r["action_type"] == "entered"]
    branches = sorted({r["branch_id"] for r in rows})
    return {
        "customer_id": customer_id,
        "first_seen": min(r["first_seen"] for r in rows),
        "last_seen": max(r["last_seen"] for r in rows),
        "visits": len(entered),
        "passes": sum(1 for r in rows if r["action_type"] == "passed"),
        "movements": len(rows),
        "branches": branches,
        "n_branches": len(branches),
        "total_dwell_seconds": float(sum(r["dwell_seconds"] for r in entered)),
        "rows": rows[:CUSTOMER_ROWS_SHOWN],
    }
