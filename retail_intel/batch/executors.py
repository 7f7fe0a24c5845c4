"""Where segments run: in this process, in a local process pool, or as Ray tasks.

Every executor runs :func:`retail_intel.batch.work.run_segment`, the same
function, so their results are identical. The coordinator submits a segment
when its predecessor has finished and collects outcomes with :meth:`wait`,
which also delivers frame progress through ``on_progress``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import re
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from retail_intel.batch.work import SegmentOutcome, SegmentTask, run_segment
from retail_intel.errors import InputError
from retail_intel.pipeline.video_tracks import DetectorFactory, ProgressFn

# on_progress(segment index, frames done, frames total or None)
ProgressSink = Callable[[int, int, "int | None"], None]
_PROGRESS_EVERY_S = 0.5
RAY_INSTALL_HINT = "pip install 'retail-intel[distributed]'"


class Executor(Protocol):
    capacity: int  # segments in flight at most

    def submit(self, task: SegmentTask) -> None: ...

    def wait(self, timeout: float) -> list[SegmentOutcome]: ...

    def close(self, *, cancel: bool) -> None: ...


def _throttled(index: int, send: Callable[[int, int, int | None], None]) -> ProgressFn:
    last = [0.0]

    def progress(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= _PROGRESS_EVERY_S or (total is not None and done >= total):
            last[0] = now
            send(index, done, total)

    return progress


class InlineExecutor:
    """One segment at a time in this process (``--workers 1``): no start-up cost, no copies of the model."""

    capacity = 1

    def __init__(self, detector_factory: DetectorFactory, on_progress: ProgressSink) -> None:
        self._factory = detector_factory
        self._on_progress = on_progress
        self._queue: list[SegmentTask] = []

    def submit(self, task: SegmentTask) -> None:
        self._queue.append(task)

    def wait(self, timeout: float) -> list[SegmentOutcome]:
        if not self._queue:
            return []
        task = self._queue.pop(0)
        return [run_segment(task, self._factory, _throttled(task.index, self._on_progress))]

    def close(self, *, cancel: bool) -> None:
        self._queue.clear()


# --- local process pool -------------------------------------------------------------------------

_worker_queue: Any = None


def _watch_parent(parent: int) -> None:
    # A coordinator killed with kill -9 cannot stop its workers: they notice
    # and exit, rather than finish a file nobody will record.
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(progress_queue: Any, parent: int) -> None:
    global _worker_queue
    _worker_queue = progress_queue
    # Ctrl-C reaches the whole process group; the coordinator decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), name="retail-intel-parent-watch", daemon=True).start()


def _send_progress(index: int, done: int, total: int | None) -> None:
    if _worker_queue is not None:
        with contextlib.suppress(Exception):
            _worker_queue.put_nowait((index, done, total))


def _pool_run(task: SegmentTask, factory: DetectorFactory) -> SegmentOutcome:
    return run_segment(task, factory, _throttled(task.index, _send_progress))


class PoolExecutor:
    """``--workers N`` local processes (spawned; each loads its own detector once)."""

    def __init__(self, workers: int, detector_factory: DetectorFactory, on_progress: ProgressSink) -> None:
        self.capacity = workers
        self._factory = detector_factory
        self._on_progress = on_progress
        self._context = multiprocessing.get_context("spawn")
        self._progress: Any = self._context.Queue()
        self._futures: dict[Future[SegmentOutcome], SegmentTask] = {}
        self._broke: dict[str, int] = {}
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.capacity,
            mp_context=self._context,
            initializer=_init_worker,
            initargs=(self._progress, os.getpid()),
        )

    def submit(self, task: SegmentTask) -> None:
        self._futures[self._pool.submit(_pool_run, task, self._factory)] = task

    def _drain_progress(self) -> None:
        while True:
            try:
                index, done, total = self._progress.get_nowait()
            except queue.Empty:
                return
            self._on_progress(index, done, total)

    def wait(self, timeout: float) -> list[SegmentOutcome]:
        finished, _ = wait_futures(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        self._drain_progress()
        outcomes: list[SegmentOutcome] = []
        broken: list[SegmentTask] = []
        for future in finished:
            task = self._futures.pop(future)
            try:
                outcomes.append(future.result())
            except BrokenProcessPool:
                broken.append(task)
        if broken:
            outcomes.extend(self._recover(broken))
        return outcomes

    def _recover(self, broken: list[SegmentTask]) -> list[SegmentOutcome]:
        # A worker died (out of memory, a crash in native code): the pool is
        # gone with every segment in it. Each is tried once more on a new pool;
        # one that breaks a pool twice is reported as failed.
        broken = broken + list(self._futures.values())
        self._futures.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()
        failed = []
        for task in broken:
            self._broke[task.key] = self._broke.get(task.key, 0) + 1
            if self._broke[task.key] >= 2:
                reason = "its worker process died twice (out of memory, or a crash in a video or model library)"
                failed.append(SegmentOutcome(task.index, task.key, False, reason=reason))
            else:
                self.submit(task)
        return failed

    def close(self, *, cancel: bool) -> None:
        if cancel:
            # Workers ignore Ctrl-C; stop them here. Their half-written files are
            # temporary files that never replace a finished output.
            processes = list(getattr(self._pool, "_processes", {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                with contextlib.suppress(Exception):
                    process.terminate()
        else:
            self._pool.shutdown(wait=True)
        with contextlib.suppress(Exception):
            self._progress.close()


# --- Ray ----------------------------------------------------------------------------------------


def import_ray(name: str = "executor") -> Any:
    """The ``ray`` module; :class:`InputError` saying how to install it, naming the executor as ``name``."""
    try:
        import ray
    except ImportError as exc:
        raise InputError(f"{name} ray needs Ray, which is not installed: {RAY_INSTALL_HINT}") from exc
    return ray


def _ray_run(task: SegmentTask, factory: DetectorFactory, progress_queue: Any) -> SegmentOutcome:
    def send(index: int, done: int, total: int | None) -> None:
        with contextlib.suppress(Exception):
            progress_queue.put_nowait((index, done, total))

    return run_segment(task, factory, _throttled(task.index, send))


def _ray_reason(exc: BaseException) -> str:
    # Ray's message is a coloured remote traceback; its last line names the cause.
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    cause = next((line for line in reversed(lines) if line), type(exc).__name__)
    return f"Ray task failed: {cause}"


_RAY_INIT_SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None)


class RayExecutor:
    """Segments as Ray tasks: on a cluster (``address``) or a Ray instance started here.

    Every node must have retail-intel installed and see the videos and the data
    directory at the same paths (shared storage); the coordinator keeps the ledger.
    """

    def __init__(
        self,
        detector_factory: DetectorFactory,
        on_progress: ProgressSink,
        *,
        address: str | None = None,
        workers: int | None = None,
        cpus_per_task: float = 1.0,
    ) -> None:
        ray = import_ray()
        from ray.util.queue import Queue

        self._ray = ray
        self._started_here = False
        # ray.init replaces the process's SIGTERM handler (with one that raises SystemExit) and
        # never puts it back; close() does, so a batch leaves the process as it found it
        self._signal_handlers: dict[int, Any] = {}
        if not ray.is_initialized():
            if threading.current_thread() is threading.main_thread():
                self._signal_handlers = {s: signal.getsignal(s) for s in _RAY_INIT_SIGNALS}
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "WARNING"}
            if address:
                ray.init(address=address, **options)
            else:
                ray.init(num_cpus=workers, **options)
                self._started_here = True
        self._factory = detector_factory
        self._on_progress = on_progress
        self._remote = ray.remote(num_cpus=cpus_per_task, max_retries=1)(_ray_run)
        self._progress = Queue()
        cluster_slots = int(ray.cluster_resources().get("CPU", 1) // max(cpus_per_task, 1e-9))
        self.capacity = max(1, workers or cluster_slots)
        self._refs: dict[Any, SegmentTask] = {}

    def submit(self, task: SegmentTask) -> None:
        self._refs[self._remote.remote(task, self._factory, self._progress)] = task

    def _drain_progress(self) -> None:
        with contextlib.suppress(Exception):
            size = self._progress.qsize()
            if size:
                for index, done, total in self._progress.get_nowait_batch(size):
                    self._on_progress(index, done, total)

    def wait(self, timeout: float) -> list[SegmentOutcome]:
        if not self._refs:
            return []
        ready, _ = self._ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        if ready:
            ready, _ = self._ray.wait(list(self._refs), num_returns=len(self._refs), timeout=0)
        self._drain_progress()
        outcomes = []
        for ref in ready:
            task = self._refs.pop(ref)
            try:
                outcomes.append(self._ray.get(ref))
            except Exception as exc:  # the task's worker died, or Ray could not run it
                outcomes.append(SegmentOutcome(task.index, task.key, False, reason=_ray_reason(exc)))
        return outcomes

    def close(self, *, cancel: bool) -> None:
        if cancel:
            for ref in self._refs:
                with contextlib.suppress(Exception):
                    self._ray.cancel(ref, force=True)
        self._refs.clear()
        with contextlib.suppress(Exception):
            self._ray.kill(self._progress.actor)
        if self._started_here:
            self._ray.shutdown()
        if threading.current_thread() is threading.main_thread():
            for signum, handler in self._signal_handlers.items():
                if handler is not None:  # None: set outside Python, cannot be put back
                    signal.signal(signum, handler)
        self._signal_handlers = {}
