"""Rendered answers kept for a few seconds, so a page many people open at once is rendered
once: a finished meeting's minutes and log change only when an operator redacts them, and
listings may lag the database by a moment. Bounded in bytes, least recently used out
first. Pure: the clock arrives as an argument; no aiohttp, no I/O.
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


class PageCache:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Cached] = OrderedDict()
        self._bytes = 0

    def get(self, key: str, now: float) -> Cached | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= now:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: Cached) -> None:
        if len(entry.body) > self.max_bytes // 8:
            return  # one huge page must not push out everything else
        if key in self._entries:
            self._drop(key)
        self._entries[key] = entry
        self._bytes += len(entry.body)
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        self._bytes -= len(self._entries.pop(key).body)

    def __len__(self) -> int:
        return len(self._entries)
