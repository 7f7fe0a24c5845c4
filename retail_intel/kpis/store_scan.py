"""A store table as one lazy Polars frame, read the way :mod:`retail_intel.movements.overlap` plans it.

Files are scanned by name (Polars opens many small files in parallel); a
month cut back because a source of it also has its own file comes in as the
Arrow table already read. The caller collects, then calls ``plan.verify()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

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
