"""A throw-away PostgreSQL server for the export tests (Debian's ``postgresql`` package).

The server binaries live in /usr/lib/postgresql/<version>/bin. ``initdb``
makes a cluster in a temporary folder with password (SCRAM) authentication
and a random password made here, so no credential is ever stored anywhere;
the server listens on 127.0.0.1 at a free port and on a Unix socket in that
folder. PostgreSQL refuses to run as root, so under root the cluster belongs
to ``nobody`` and every server command runs as that user (``setpriv``).

Without the binaries the tests skip, unless RETAIL_INTEL_REQUIRE_POSTGRES=1
(set by ``.ci/run``), where they fail.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "retail"


def postgres_bindir() -> Path | None:
    """The newest installed server's bin folder, or None."""
    override = os.environ.get("RETAIL_INTEL_PG_BINDIR")
    if override:
        return Path(override) if (Path(override) / "initdb").is_file() else None
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name), reverse=True
    )
    return candidates[0].parent if candidates else None


def require_postgres() -> Path:
    """The bin folder, or skip (fail under RETAIL_INTEL_REQUIRE_POSTGRES=1) saying why."""
    bindir = postgres_bindir()
    reason = None
    if bindir is None:
        reason = "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    else:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            reason = "psycopg is not installed (pip install -e '.[test]')"
    if reason is not None:
        if os.environ.get("RETAIL_INTEL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL tests required but {reason}")
        pytest.skip(reason)
    assert bindir is not None
    return bindir


# How long pg_ctl waits for the server: it bounds a hang, not the speed (a busy machine is slow to start it).
START_WITHIN_S = 300
PORT_TRIES = 5


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running server: where it listens and how to reach it."""

    bindir: Path
    root: Path
    port: int
    password: str
    run_as: Sequence[str]

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, *, password: str | None = None, database: str = "postgres") -> str:
        secret = self.password if password is None else password
        return f"postgresql://{SUPERUSER}:{secret}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        subprocess.run(
            [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )


def _run_as_prefix(root: Path) -> list[str]:
    if os.geteuid() != 0:
        return []
    user = pwd.getpwnam("nobody")
    for path in [root, *root.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid)
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]


def start_postgres(bindir: Path, root: Path) -> PostgresServer:
    """initdb into ``root`` and start the server; raises with the server log if it does not come up."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    password = secrets.token_urlsafe(18)
    pwfile = root / "pw"
    pwfile.write_text(password + "\n")
    run_as = _run_as_prefix(root)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    data = root / "data"
    initdb = subprocess.run(
        [
            *run_as,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=UTF8",
            "--no-sync",
        ],
        check=False,
        capture_output=True,
        env=env,
    )
    pwfile.unlink()
    if initdb.returncode != 0:
        raise RuntimeError(f"initdb failed: {initdb.stderr.decode(errors='replace')[-2000:]}")
    log = root / "server.log"
    for _ in range(PORT_TRIES):
        # free a moment ago: another process may bind it before the server does, so another port then
        port = free_port()
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} -c fsync=off"
        log.unlink(missing_ok=True)
        wait = ["-w", "-t", str(START_WITHIN_S)]
        started = subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, *wait, "start"],
            check=False,
            capture_output=True,
            env=env,
        )
        if started.returncode == 0:
            return PostgresServer(bindir=bindir, root=root, port=port, password=password, run_as=run_as)
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else started.stderr.decode(errors="replace")
        if "Address already in use" not in detail:
            break
    raise RuntimeError(f"PostgreSQL did not start: {detail}")


def remove(server: PostgresServer) -> None:
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)
