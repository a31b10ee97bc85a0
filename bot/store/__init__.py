"""Persistence of meetings in SQLite: the archive every output file can be rewritten from.

`bot.store` is the only package that imports `aiosqlite`. It stores what the core's recording
effects say and loads meetings back; it never decides anything about a meeting, never talks to
IRC and never writes output files.
"""

from bot.store.errors import StoreError
from bot.store.schema import SCHEMA_VERSION
from bot.store.store import MeetingSummary, Store

__all__ = ["SCHEMA_VERSION", "MeetingSummary", "Store", "StoreError"]
