"""Keep Ultralytics offline: no downloads, no pip installs, no telemetry.

Must run before ``ultralytics`` is first imported, because Ultralytics reads
these environment variables at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

_done = False


def cache_dir() -> Path:
    """retail-intel's cache folder (``$XDG_CACHE_HOME/retail-intel`` or ``~/.cache/retail-intel``)."""
    base = os.environ.get("RETAIL_INTEL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "retail-intel"
    )
    return Path(base)


def prepare_ultralytics() -> None:
    """Set Ultralytics' offline switches and turn settings sync off (idempotent)."""
    global _done
    if _done:
        return
    config_dir = cache_dir() / "ultralytics"
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("YOLO_CONFIG_DIR", str(config_dir))
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "False"
    os.environ.setdefault("YOLO_VERBOSE", "False")
    from ultralytics.utils import SETTINGS

    if SETTINGS.get("sync", False):
        SETTINGS.update({"sync": False})
    _done = True
