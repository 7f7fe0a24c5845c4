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
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from retail_intel.errors import DatabaseError, InputError

if TYPE_CHECKING:
    import psycopg

SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT_S = 10


def redact_url(url: str) -> str:
    """``url`` with its password (if any) shown as ``***``."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            if ":" in userinfo:
                userinfo = userinfo.split(":", 1)[0] + ":***"
            netloc = f"{userinfo}@{host}"
        query = parts.query
        if query:
            pairs = [(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(query, keep_blank_values=True)]
            query = urlencode(pairs, safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<unparseable URL>"


def _password(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        if parts.password:
            return parts.password
        for key, value in parse_qsl(parts.query):
            if key.lower() == "password":
                return value
    except ValueError:
        return None
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


def require_psycopg() -> None:
    """:class:`InputError` saying what to install when psycopg (the ``[postgres]`` extra) is missing."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise InputError("--to postgresql://: needs psycopg; pip install 'retail-intel[postgres]'") from None


def check_url(url: str) -> str:
    """``url`` if it is a PostgreSQL URL libpq can parse; :class:`InputError` naming ``--to`` otherwise."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise InputError(f"--to: expected a URL like postgresql://user@host:5432/dbname, got {redact_url(url)!r}")
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        netloc = ""
    if netloc.count("@") > 1:
        # libpq ends the password at the first '@' and takes the rest as the host, so its
        # error ("failed to resolve host 'ss@db'") would show the password's tail
        raise InputError(
            f"--to: {redact_url(url)} has more than one '@' before the host; write an '@' in the user name "
            "or password as %40"
        )
    require_psycopg()
    from psycopg import conninfo

    try:
        conninfo.conninfo_to_dict(url)
    except Exception as exc:  # psycopg.ProgrammingError: libpq could not parse it
        raise InputError(f"--to: {redact_url(url)} is not a valid PostgreSQL URL ({scrub(str(exc), url)})") from None
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
