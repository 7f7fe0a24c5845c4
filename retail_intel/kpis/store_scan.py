"""A store table as one lazy Polars frame, read the way :mod:`retail_intel.movements.overlap` plans it.

Files are scanned by name (Polars opens many small files in parallel); a
month cut back because a source of it also has its own file comes in as the
Arrow table already read. The caller collects, then calls ``plan.verify()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from retail_intel.movements.overlap import StoreRead

if TYPE_CHECKING:
    import polars as pl


def scan_store(plan: StoreRead, columns: Sequence[str] | None = None, **scan_options: Any) -> pl.LazyFrame:
    """The rows of ``plan`` (``columns`` of them, or all), lazily; ``scan_options`` go to ``pl.scan_parquet``.

    ``plan`` must not be empty.
    """
    import polars as pl

    parts: list[pl.LazyFrame] = []
    if plan.by_name:
        parts.append(
            pl.scan_parquet([str(p) for p in plan.by_name], hive_partitioning=False, glob=False, **scan_options)
        )
    for table in plan.cut:
        frame = pl.from_arrow(table, rechunk=False)
        assert isinstance(frame, pl.DataFrame)
        parts.append(frame.lazy())
    if columns is not None:
        parts = [part.select(columns) for part in parts]
    if len(parts) == 1:
        return parts[0]
    # a file written before a nullable column existed lacks it: filled with nulls
    return pl.concat(parts, how="diagonal_relaxed")


def repeated_key(
    plan: StoreRead, schema: pa.Schema, key: Sequence[str], branch_ids: Sequence[str] | None = None
) -> tuple[str, list[str]] | None:
    """The lowest value of ``key`` (columns of ``schema``, the table's) that more than one row of ``plan``
    holds, as text (its columns joined by ', '), and the files holding it, sorted; None when there is
    none. ``branch_ids``: only those branches' rows.

    Reads the key and the file of every row: for the rare store that a cheaper check (hashes)
    found a repeat in.
    """
    import polars as pl

    wanted = pa.schema([schema.field(name) for name in dict.fromkeys([*key, "branch_id"])])
    pinned = pl.Schema(pl.from_arrow(wanted.empty_table()).schema)  # type: ignore[union-attr]
    parts: list[pl.LazyFrame] = []
    if plan.by_name:
        parts.append(
            pl.scan_parquet(
                [str(p) for p in plan.by_name],
                hive_partitioning=False,
                glob=False,
                schema=pinned,
                missing_columns="insert",
                extra_columns="ignore",
                include_file_paths="file",
            ).select(*wanted.names, "file")
        )
    for path, table in zip(plan.cut_from, plan.cut, strict=True):
        frame = pl.from_arrow(table.select(wanted.names).cast(wanted), rechunk=False)
        assert isinstance(frame, pl.DataFrame)
        parts.append(frame.lazy().with_columns(file=pl.lit(str(path))))
    if not parts:
        return None
    rows = pl.concat(parts, how="diagonal_relaxed").drop_nulls(list(key))
    if branch_ids is not None:
        rows = rows.filter(pl.col("branch_id").is_in(list(branch_ids)))
    found = (
        rows.group_by(list(key))
        .agg(pl.col("file").unique().sort(), pl.len().alias("__rows"))
        .filter(pl.col("__rows") > 1)
        .sort(list(key))
        .head(1)
        .collect()
    )
    if found.height == 0:
        return None
    row = found.row(0, named=True)
    value = ", ".join(v.isoformat(sep=" ") if hasattr(v, "isoformat") else str(v) for v in (row[k] for k in key))
    return value, [str(f) for f in row["file"]]
