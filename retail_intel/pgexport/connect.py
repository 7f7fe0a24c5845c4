"""Connecting to PostgreSQL from a ``postgresql://`` URL, and saying why not in one line.

Passwords never reach a message: :func:`redact_url` replaces the URL's
password (and a ``password=`` query parameter) with ``***``, and every error
raised here goes through :func:`scrub`, which also removes the password
wherever libpq might have echoed it. The password can equally come from
``PGPASSWORD`` or ``~/.pgpass``, which libpq reads by itself, so it need not
be on the command line at all.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

from retail_intel.errors import DatabaseError, InputError

if TYPE_CHECKING:
    import psycopg

SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT_S = 10


def _split_url(url: str) -> tuple[str, str | None, str, str | None]:
    """``url`` as libpq reads it: (``scheme://``, user info or None, host and path, query or None).

    The user info ends at an '@' before any '/', as for libpq, so a '?' or '#' in an
    unencoded password belongs to the password (urlsplit took it for the query or the
    fragment, and the password was shown), and the query starts at the first '?' after it.
    Of several such '@' the last: libpq stops at the first, but the rest up to the last is
    what was meant as the password too (check_url refuses such a URL, naming it redacted).
    """
    scheme, slashes, after = url.partition("://")
    userinfo: str | None = None
    if slashes:
        at = after.rfind("@", 0, len(after) if after.find("/") < 0 else after.find("/"))
        if at >= 0:
            userinfo, after = after[:at], after[at + 1 :]
    location, question, query = after.partition("?")
    return scheme + slashes, userinfo, location, query if question else None


def _redact_parameter(pair: str) -> str:
    key = pair.split("=", 1)[0]
    return f"{key}=***" if unquote_plus(key).lower() == "password" else pair


def redact_url(url: str) -> str:
    """``url`` with its password (if any) shown as ``***``, the rest as written.

    Cut apart by hand rather than put back together by urlunsplit, which drops the
    ``//`` of a URL without a host (``postgresql:///db?host=/var/run/postgresql``)
    and whose urlencode spells the query another way (``%2Fvar%2Frun...``).
    """
    try:
        urlsplit(url)  # refuses what libpq could not read either (an unclosed IPv6 bracket, ...)
    except ValueError:
        return "<unparseable URL>"
    start, userinfo, location, query = _split_url(url)
    if userinfo is not None:
        start += (userinfo.split(":", 1)[0] + ":***" if ":" in userinfo else userinfo) + "@"
    if query is not None:
        location += "?" + "&".join(_redact_parameter(pair) for pair in query.split("&"))
    return start + location


def _password(url: str) -> str | None:
    _, userinfo, _, query = _split_url(url)
    if userinfo is not None and ":" in userinfo:
        return userinfo.split(":", 1)[1]
    for key, value in parse_qsl(query or ""):
        if key.lower() == "password":
            return value
    return None


def scrub(message: str, url: str) -> str:
    """``message`` on one line, with the URL redacted and its password removed wherever it appears."""
    text = message.replace(url, redact_url(url))
    secret = _password(url)
    if secret:
        # as written in the URL and as libpq decodes it (%40 -> @)
        for form in {secret, unquote(secret)}:
            text = text.replace(form, "***")
    return re.sub(r"\s+", " ", text).strip()


def require_psycopg(name: str = "url") -> None:
    """:class:`InputError` saying what to install when psycopg (the ``[postgres]`` extra) is missing.

    ``name`` is what the caller calls the URL in messages (its flag: ``--to``)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise InputError(f"{name} postgresql://: needs psycopg; pip install 'retail-intel[postgres]'") from None


def check_url(url: str, name: str = "url") -> str:
    """``url`` if it is a PostgreSQL URL libpq can parse; :class:`InputError` naming it otherwise.

    ``name`` is what the caller calls the URL in messages (its flag: ``--to``)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise InputError(f"{name}: expected a URL like postgresql://user@host:5432/dbname, got {redact_url(url)!r}")
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        netloc = ""
    if netloc.count("@") > 1:
        # libpq ends the password at the first '@' and takes the rest as the host, so its
        # error ("failed to resolve host 'ss@db'") would show the password's tail
        raise InputError(
            f"{name}: {redact_url(url)} has more than one '@' before the host; write an '@' in the user name "
            "or password as %40"
        )
    require_psycopg(name)
    from psycopg import conninfo

    try:
        conninfo.conninfo_to_dict(url)
    except Exception as exc:  # psycopg.ProgrammingError: libpq could not parse it
        raise InputError(f"{name}: {redact_url(url)} is not a valid PostgreSQL URL ({scrub(str(exc), url)})") from None
    return url


def connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """An open connection (autocommit: the caller opens one transaction per table)."""
    import psycopg

    check_url(url)
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, application_name="retail-intel")
    except psycopg.Error as exc:
        # "from None": the original exception text carries the raw libpq message; it stays out of tracebacks too.
        raise DatabaseError(f"cannot connect to {redact_url(url)}: {scrub(str(exc), url)}") from None
