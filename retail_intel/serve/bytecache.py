"""One least-recently-used cache bounded by the bytes it holds, shared by serve's caches.

A count of entries says nothing about memory: one KPI answer can be 30 bytes
or 7 MB, so 4,096 remembered answers could be 30 KB or 28 GB. Every cache of
the server (KPI rows, KPI answers by request and by URL, dashboard payloads)
therefore puts its entries in one :class:`ByteLru` with a ceiling in bytes;
the least recently used entries of any kind go first when a new one would
pass it. Sizes are what each entry holds (its encoded bytes, plus Python's
per-object overhead), counted when it is stored; a body shared by two
entries is counted twice, which errs on the safe side.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

# Bookkeeping per entry beyond its value: the key tuple, the dict slot, the size.
ENTRY_OVERHEAD = 200


class ByteLru:
    """A thread-safe LRU mapping whose values' sizes, as given to :meth:`put`, stay under ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    @property
    def bytes_held(self) -> int:
        """Accounted size of everything held now; never above ``max_bytes``."""
        return self._held

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Any:
        """The value stored under ``key`` (now the most recently used), or None."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: Any, size: int) -> bool:
        """Store ``value``, evicting the least recently used entries as needed; False if it alone is too big."""
        size += ENTRY_OVERHEAD
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._held -= old[1]
            if size > self.max_bytes:
                return False
            while self._entries and self._held + size > self.max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._held -= evicted
            self._entries[key] = (value, size)
            self._held += size
            return True

    def discard(self, key: Hashable) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._held -= old[1]
