"""Rendered answers kept for a few seconds, so a page many people open at once is rendered
once: a finished meeting's minutes and log change only when an operator redacts them, and
listings may lag the database by a moment. An answer past its time may still be given for
its `grace` while one reader's request makes the next (so a popular search or listing never
makes its readers wait for it). Bounded in bytes, least recently used out first. Pure: the
clock arrives as an argument; no aiohttp, no I/O.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

MAX_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Cached:
    body: bytes
    content_type: str
    charset: str | None
    expires: float
    gzipped: bytes | None = None  # the same body gzip-compressed, for readers that take it
    grace: float = 0.0  # seconds past `expires` it may still be given while renewed

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"")


class PageCache:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Cached] = OrderedDict()
        self._bytes = 0

    def get(self, key: str, now: float) -> Cached | None:
        """The answer kept for `key` if it is still current."""
        entry = self._kept(key, now)
        return entry if entry is not None and now < entry.expires else None

    def stale(self, key: str, now: float) -> Cached | None:
        """The answer kept for `key` if it is past its time but within its grace."""
        entry = self._kept(key, now)
        return entry if entry is not None and entry.expires <= now else None

    def _kept(self, key: str, now: float) -> Cached | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires + entry.grace <= now:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def fits(self, size: int) -> bool:
        """Whether an entry of `size` bytes may be kept: one huge page must not push out
        everything else."""
        return size <= self.max_bytes // 8

    def put(self, key: str, entry: Cached) -> None:
        if not self.fits(entry.size):
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = entry
        self._bytes += entry.size
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        self._bytes -= self._entries.pop(key).size

    def __len__(self) -> int:
        return len(self._entries)
