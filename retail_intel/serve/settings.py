"""The server's own limits: how much memory its caches may hold and how many dashboard views it draws at once."""

from __future__ import annotations

import os
from dataclasses import dataclass

from retail_intel.errors import InputError

MIB = 1024 * 1024
CACHE_MB_ENV = "RETAIL_INTEL_SERVE_CACHE_MB"


@dataclass(frozen=True)
class ServeSettings:
    """Limits of one server process (each uvicorn worker has its own).

    ``cache_bytes`` bounds every cache together (KPI rows and answers, and
    dashboard payloads) by their size in bytes. An uncached dashboard view
    costs about a CPU-second, so at most ``report_workers`` are drawn at
    once and at most ``report_queue`` more wait; beyond that the answer is
    503 with ``Retry-After: retry_after_s``.
    """

    cache_bytes: int = 256 * MIB
    report_workers: int = 2
    report_queue: int = 8
    retry_after_s: int = 2

    def __post_init__(self) -> None:
        for name, low in (("cache_bytes", 0), ("report_workers", 1), ("report_queue", 0), ("retry_after_s", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < low:
                raise InputError(f"serve setting {name} must be a whole number >= {low}, got {value!r}")

    @classmethod
    def from_environment(cls) -> ServeSettings:
        """Defaults, with the cache ceiling from ``$RETAIL_INTEL_SERVE_CACHE_MB`` when set (``serve --cache-mb``)."""
        text = os.environ.get(CACHE_MB_ENV)
        if text is None:
            return cls()
        try:
            megabytes = int(text)
        except ValueError:
            raise InputError(f"{CACHE_MB_ENV} must be a whole number of MiB, got {text!r}") from None
        return cls(cache_bytes=megabytes * MIB)
