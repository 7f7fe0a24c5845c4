"""Telling stream URLs from file paths, and keeping passwords out of what is written (pure, no I/O)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# Schemes a camera or a relay typically serves; anything else with "://"
# is handed to OpenCV/FFmpeg as well, which knows many more.
KNOWN_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt", "rtp")

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def is_stream_url(text: str) -> bool:
    """True for ``rtsp://...``, ``http://...``, ``udp://...`` and any other ``scheme://...``."""
    return "://" in text


def redact_url(url: str) -> str:
    """The URL without its user name and password (``rtsp://admin:secret@cam/1`` -> ``rtsp://cam/1``).

    Camera URLs routinely carry credentials; they must never reach a Parquet
    file, a run record or the terminal.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("://", 1)[0] + "://<unparsable>"
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def safe_name(text: str) -> str:
    """A file-name-safe version of ``text`` (camera and session ids end up in file names)."""
    cleaned = _SAFE_NAME.sub("_", text).strip("._")
    return cleaned or "x"
