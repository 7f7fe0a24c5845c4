"""Running the API under uvicorn, in one process or several.

Several worker processes each build their own app from the same two
directories; uvicorn starts them from an import string, so the directories
travel in the environment variables the CLI reads anyway.

uvicorn's supervisor of several workers (0.55) stops on its own only when a
worker exits with its ``STARTUP_FAILURE`` code (the app could not be imported,
its lifespan failed); any other worker death it restarts, forever. It then
returns normally, as it does on Ctrl-C or SIGTERM: :func:`run_supervised`
tells these apart and raises :class:`ServeError` for the first.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterator, Mapping
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from retail_intel.config.loader import load_config
from retail_intel.errors import InputError, RetailIntelError, ServeError
from retail_intel.interrupts import raise_if_ctrl_c
from retail_intel.naming import COMMAND_STEPS, DIRECTORY_NAMES, CallerNames
from retail_intel.serve.settings import CACHE_MB_ENV

CONFIG_ENV = "RETAIL_INTEL_CONFIG"
DATA_DIR_ENV = "RETAIL_INTEL_DATA_DIR"
MAX_WORKERS = 64
APP = "retail_intel.serve.server:app_from_environment"
WORKER_APP = "retail_intel.serve.server:app_in_worker"

# uvicorn's own log, configured in every worker: a worker's last words sit with the supervisor's lines.
_server_log = logging.getLogger("uvicorn.error")


def app_from_environment() -> FastAPI:
    """The app over ``$RETAIL_INTEL_CONFIG`` and ``$RETAIL_INTEL_DATA_DIR`` (uvicorn factory)."""
    from retail_intel.serve.app import create_app
    from retail_intel.serve.settings import ServeSettings

    return create_app(
        Path(os.environ.get(CONFIG_ENV, "config")),
        Path(os.environ.get(DATA_DIR_ENV, "retail_data")),
        ServeSettings.from_environment(),
    )


def app_in_worker() -> FastAPI:
    """:func:`app_from_environment` in one of several workers: if it fails, the worker exits as "failed to start".

    uvicorn's supervisor gives up only on a worker that exits with ``STARTUP_FAILURE``; a factory that
    raises is a worker that died, which it restarts every half second forever, a traceback each time.
    """
    # started with SIGINT held (_ctrl_c_held); uvicorn's server, which calls this, handles it from here on
    _let_ctrl_c_through()
    try:
        return app_from_environment()
    except RetailIntelError as exc:
        _server_log.error("the app could not start in this worker: %s", exc.worded_for(DIRECTORY_NAMES, COMMAND_STEPS))
    except Exception:
        _server_log.exception("the app could not start in this worker")
    logging.shutdown()  # flushes the lines above: os._exit does not
    # os._exit, not SystemExit: a worker winding its interpreter down (DuckDB, Arrow) still looks alive to
    # the supervisor but no longer answers its health check, which then waits its whole timeout (5 s).
    os._exit(STARTUP_FAILURE)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """``host`` as a URL writes it: an IPv6 address in brackets (``http://[::1]:8000/``)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _bound(host: str, port: int, names: Mapping[str, str] | None = None) -> socket.socket:
    """A socket bound to ``host``:``port`` as uvicorn binds its own (family by the host, SO_REUSEADDR),
    not listening yet; :class:`InputError` naming ``port`` (or ``host``) where it cannot be, as ``names`` call them."""
    named = CallerNames(names)
    host_name, port_name = named("host"), named("port")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InputError(
                f"{port_name} {port}: {host}:{port} is already in use (another server?); "
                f"choose another with {port_name}"
            ) from None
        reason = exc.strerror or str(exc)
        raise InputError(f"{host_name} {host!r} {port_name} {port}: cannot listen there ({reason})") from None
    return sock


def check_port_free(host: str, port: int, names: Mapping[str, str] | None = None) -> None:
    """:class:`InputError` naming ``port`` (or ``host``) if the server could not listen there.

    Checked before anything is printed or started, so a busy port is one line
    instead of a dashboard URL followed by uvicorn's log. The probe binds the
    way uvicorn does (SO_REUSEADDR) and closes again at once. ``names`` say what
    the caller calls ``host`` and ``port`` in messages (its flags: ``{"port": "--port"}``).
    """
    if port == 0:
        return
    # The same family and bind call as uvicorn's own socket, so the answer is the one it would get.
    with _bound(host, port, names):
        pass


def bind_any_port(host: str) -> socket.socket:
    """A socket bound to a free port of ``host``, the kernel's choice for port 0.

    It is served as it is (:func:`serve_on`, :func:`run_supervised`): a port only looked up and let go
    again could be taken (by another server, or an outgoing connection given it) before the server
    bound it, after its URL was printed.
    """
    sock = _bound(host, 0)
    # listening at once: bound alone, another socket with SO_REUSEADDR (another uvicorn) could bind it too
    sock.listen(2048)  # uvicorn's backlog; its server calls listen again
    sock.set_inheritable(True)  # the workers of run_supervised serve it too
    return sock


def _not_started(code: object) -> ServeError:
    return ServeError(f"the server did not start (uvicorn gave up with exit code {code}): see the lines above")


def serve_on(app: str, listener: socket.socket, **options: Any) -> None:
    """``uvicorn.run`` for one worker, serving on ``listener`` (bound already) instead of binding its own.

    Raises :class:`ServeError` where uvicorn would exit the process (the app could not be imported or built).
    """
    config = uvicorn.Config(app, **options)
    server = uvicorn.Server(config=config)  # it imports the app as it starts (Config.load)
    try:
        with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run: raise_if_ctrl_c tells the caller
            server.run(sockets=[listener])
    except SystemExit as exc:  # Config.load exits the process when the app cannot be imported
        raise _not_started(exc.code) from None
    if not server.started:
        raise _not_started(STARTUP_FAILURE)


def _run_one(app: str, **options: Any) -> None:
    """``uvicorn.run``, raising :class:`ServeError` where it would exit the process (a library never exits)."""
    try:
        uvicorn.run(app, **options)
    except SystemExit as exc:
        raise _not_started(exc.code) from None


def run_server(
    config_dir: Path,
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    access_log: bool = False,
    log_level: str = "info",
    cache_mb: int | None = None,
    on_ready: Callable[[int], None] | None = None,
    names: Mapping[str, str] | None = None,
) -> None:
    """Serve until interrupted. The config is checked first so a broken one fails here, not in a worker.

    Stopped by Ctrl-C, it raises KeyboardInterrupt once the server has shut down (uvicorn alone returns).

    ``cache_mb`` is each worker's cache ceiling (:class:`ServeSettings`); ``on_ready`` is called with
    the port once every check passed, just before the server starts listening (the CLI prints the URL
    there). Port 0 is a free port chosen here, so the URL printed is the one served.
    ``names`` say what the caller calls ``host``, ``port``, ``workers``, ``data_dir`` and ``cache_mb``
    in messages (its flags: ``{"port": "--port"}``); a parameter left out is named as it is here.
    """
    named = CallerNames(names)
    if not 1 <= workers <= MAX_WORKERS:
        raise InputError(f"{named('workers')} must be between 1 and {MAX_WORKERS}, got {workers}")
    if not 0 <= port <= 65535:
        raise InputError(f"{named('port')} must be between 0 and 65535, got {port}")
    if data_dir.exists() and not data_dir.is_dir():
        raise InputError(f"{named('data_dir')} {data_dir} is a file; expected the data directory")
    if cache_mb is not None and cache_mb < 0:
        raise InputError(f"{named('cache_mb')} must be >= 0, got {cache_mb}")
    load_config(config_dir)
    check_port_free(host, port, names)
    # port 0: bound here and served as it is, so the port printed is still free when the server listens
    listener = bind_any_port(host) if port == 0 else None
    if listener is not None:
        port = int(listener.getsockname()[1])
    os.environ[CONFIG_ENV] = str(config_dir.resolve())
    os.environ[DATA_DIR_ENV] = str(data_dir.resolve())
    if cache_mb is not None:
        os.environ[CACHE_MB_ENV] = str(cache_mb)
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "access_log": access_log,
        "log_level": log_level,
        "server_header": False,
        # Picks uvloop and httptools when installed (uvicorn[standard]).
        "loop": "auto",
        "http": "auto",
    }
    with listener if listener is not None else contextlib.nullcontext():
        if on_ready is not None:
            on_ready(port)
        if listener is None and workers == 1:
            raise_if_ctrl_c(lambda: _run_one(APP, **options))
        elif listener is None:
            raise_if_ctrl_c(lambda: run_supervised(WORKER_APP, **options))
        elif workers == 1:
            bound = listener
            raise_if_ctrl_c(lambda: serve_on(APP, bound, **options))
        else:
            raise_if_ctrl_c(lambda: run_supervised(WORKER_APP, listener=listener, **options))


@contextlib.contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """SIGINT blocked in this thread for the ``with`` block, and in every process it starts meanwhile.

    Ctrl-C reaches every process of the terminal's process group. A worker still starting (Python
    importing its modules, before uvicorn's server handles the signal) died of it with a
    KeyboardInterrupt traceback, and the supervisor could start a replacement before it saw the signal
    itself. A blocked signal stays blocked across fork and exec: a worker started here gets it only once
    :func:`app_in_worker` lets it through, and one stopped before then is stopped by its supervisor
    (SIGTERM), as every worker is on Ctrl-C. Here the signal waits and arrives when the block ends.
    """
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks
        yield
        return
    # Started with the first worker otherwise, and starting it unblocks SIGINT in this thread.
    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _let_ctrl_c_through() -> None:
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class _Supervisor(Multiprocess):
    """uvicorn's supervisor of several workers, remembering why it stopped (it returns normally either way).

    Each of the four methods that start workers starts them with Ctrl-C held (:func:`_ctrl_c_held`).
    """

    ctrl_c = False
    asked_to_stop = False

    def init_processes(self) -> None:
        with _ctrl_c_held():
            super().init_processes()

    def keep_subprocess_alive(self) -> None:  # starts a replacement for a worker that died
        with _ctrl_c_held():
            super().keep_subprocess_alive()

    def restart_all(self) -> None:  # SIGHUP: a new worker for each
        with _ctrl_c_held():
            super().restart_all()

    def handle_ttin(self) -> None:  # SIGTTIN: one worker more
        with _ctrl_c_held():
            super().handle_ttin()

    def handle_int(self) -> None:
        self.ctrl_c = self.asked_to_stop = True
        super().handle_int()

    def handle_term(self) -> None:
        self.asked_to_stop = True
        super().handle_term()

    def handle_break(self) -> None:  # Windows' SIGTERM
        self.asked_to_stop = True
        super().handle_break()


def _exit_code(code: int | None) -> str:
    if code == STARTUP_FAILURE:
        return f"{code} (failed to start)"
    if code is not None and code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return str(code)


def run_supervised(app: str, *, listener: socket.socket | None = None, **options: Any) -> None:
    """``uvicorn.run`` with several workers, raising KeyboardInterrupt once they stopped on Ctrl-C.

    uvicorn's supervisor keeps the SIGINT handler it installed and returns normally, so a stop by
    Ctrl-C would look like any other end; this is what ``uvicorn.run`` does with it, plus that note.
    Raises :class:`ServeError` when the workers stopped with nobody asking (SIGINT, SIGTERM): uvicorn
    gave up on them because one failed to start.
    """
    config = uvicorn.Config(app, **options)
    # ``listener``: bound already (port 0, see bind_any_port), served as it is
    listener = config.bind_socket() if listener is None else listener
    # Closed here, not left to the process's exit: a caller that goes on after an error is not still listening.
    with listener:
        supervisor = _Supervisor(config, sockets=[listener])
        supervisor.run()
    if supervisor.ctrl_c:
        raise KeyboardInterrupt
    if not supervisor.asked_to_stop:
        codes = ", ".join(_exit_code(process.exitcode) for process in supervisor.processes)
        raise ServeError(
            f"the {len(supervisor.processes)} server workers stopped on their own (exit codes {codes}): "
            "see the lines above"
        )
