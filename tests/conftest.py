"""Suite-wide guards: no test may reach the network; no property fails for taking long."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# CI runs the suite on a slow 2-core machine that other work shares. Hypothesis failed a property whose
# example took over 200 ms once (its default deadline), or whose examples were slow to generate
# (the too_slow health check): a pause of the machine, not a finding, and the same example passing
# when run again made it an "unreliable" failure. Properties are judged by their results alone.
settings.register_profile("retail-intel", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("retail-intel")

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "testserver", "test"}


def _is_loopback(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host in _LOCAL_NAMES or host == "":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(address: Any) -> None:
    if isinstance(address, tuple) and address and not _is_loopback(address[0]):
        raise RuntimeError(f"test attempted a network connection to {address!r}")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_loopback(host):
        raise RuntimeError(f"test attempted a DNS lookup of {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that opens a non-loopback socket or resolves a remote name."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    yield


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path]:
    """The sample video processed once per test session (slow tests only): its summary and data directory."""
    from tests.sample_run import process_sample

    data_dir = tmp_path_factory.mktemp("sample-run")
    return process_sample(data_dir), data_dir
