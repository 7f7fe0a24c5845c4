"""Rows of one table that share a key, found by DuckDB over the table's Parquet files.

No writer stores a table's row twice (a video written again replaces its file; ``ingest``
skips a person already stored), so a key on two rows means a file is there twice: a copy kept
beside it as a backup, a file ingested again under another name. Read as it is, every row of the
copy would count twice. ``sql`` refuses to start (movements, keyed by
:data:`~retail_intel.movements.schema.MOVEMENT_KEY`) and ``export`` to write that table (its
PostgreSQL key), with the same line (:func:`retail_intel.storage.repeated_key_message`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb

from retail_intel.sqlviews.views import read_parquet_sql


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def repeated_key(
    con: duckdb.DuckDBPyConnection,
    pattern: str,
    key: Sequence[str],
    *,
    where: str = "",
    params: Mapping[str, object] | None = None,
) -> tuple[str, list[str]] | None:
    """One key (as text, its columns joined by ', ') that more than one row of ``pattern`` holds, and the
    files holding it, sorted; None when every key is on one row.

    ``where`` (`` WHERE ...`` with ``params``) narrows the rows. A first pass groups 64-bit hashes of
    the key, cheaper than the key's text over millions of rows; only when two rows share a hash are
    the keys themselves compared, with the file names. The lowest repeated key is named, so the
    same one on every run.
    """
    keys = ", ".join(_quote(k) for k in key)
    source = read_parquet_sql([pattern], union_by_name=True)
    hashed = con.execute(
        f"SELECT hash({keys}) AS h FROM {source}{where} GROUP BY h HAVING count(*) > 1",
        dict(params or {}),
    ).fetchall()
    if not hashed:
        return None
    shown = " || ', ' || ".join(f"CAST({_quote(k)} AS VARCHAR)" for k in key)
    named = read_parquet_sql([pattern], union_by_name=True, filename=True)
    narrowed = f"{where} AND" if where else " WHERE"
    rows = con.execute(
        f"SELECT {shown}, list(DISTINCT filename ORDER BY filename) FROM {named}{narrowed} "
        f"hash({keys}) IN (SELECT unnest($hashes)) GROUP BY {keys} HAVING count(*) > 1 ORDER BY {keys} LIMIT 1",
        {**dict(params or {}), "hashes": [int(h) for (h,) in hashed]},
    ).fetchall()
    return (str(rows[0][0]), [str(f) for f in rows[0][1]]) if rows else None
