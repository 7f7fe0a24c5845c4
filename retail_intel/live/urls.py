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
    sees no credentials at all; it is removed all the same (so is one with a
    ``/``, unless what follows the ``:`` is all digits, which reads as a port).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("://", 1)[0] + "://<unparsable>"
    if parts.username is None and parts.password is None:
        # user:pa#ss@host (or '?' or '/' in the password): the parser ended the host at that character.
        # What comes before it is a user and password when it is "name:" and no port number.
        scheme, _, rest = url.partition("://")
        userinfo, at, after = rest.rpartition("@")
        head = re.split(r"[/?#]", userinfo, maxsplit=1)[0]
        name, colon, secret = head.partition(":")
        if at and colon and name and not head.startswith("[") and not secret.isdigit():
            return f"{scheme}://{after}"
        return url
    # the host and port as written (an IPv6 literal keeps its brackets, a bad port its text)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def safe_name(text: str) -> str:
    """A file-name-safe version of ``text`` (camera and session ids end up in file names)."""
    cleaned = _SAFE_NAME.sub("_", text).strip("._")
    return cleaned or "x"
