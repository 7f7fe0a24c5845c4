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
    file, a run record or the terminal. A password typed with a ``#`` or ``?``
    in it (not percent-encoded) ends the host part for a URL parser, which then
    sees no credentials at all; it is removed all the same.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("://", 1)[0] + "://<unparsable>"
    if parts.username is None and parts.password is None:
        scheme, _, rest = url.partition("://")
        authority, slash, path = rest.partition("/")
        userinfo, at, host = authority.rpartition("@")
        cut = min((i for i in (userinfo.find("#"), userinfo.find("?")) if i >= 0), default=-1)
        if at and cut >= 0 and ":" in userinfo[:cut]:
            return f"{scheme}://{host}{slash}{path}"  # user:pa#ss@host: a password cut short by '#' or '?'
        return url
    # the host and port as written (an IPv6 literal keeps its brackets, a bad port its text)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def safe_name(text: str) -> str:
    """A file-name-safe version of ``text`` (camera and session ids end up in file names)."""
    cleaned = _SAFE_NAME.sub("_", text).strip("._")
    return cleaned or "x"
