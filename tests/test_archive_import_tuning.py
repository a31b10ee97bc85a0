"""The import's connection settings: its own connection only, never the bot's."""

from __future__ import annotations

from pathlib import Path

from bot.store import Store
from bot.store.db import scalar
from bot.store.importing import IMPORT_CACHE_KIB


async def test_tuning_for_import_changes_only_that_connection(tmp_path: Path) -> None:
    db = tmp_path / "gavel.sqlite3"
    async with await Store.open(db) as importing, await Store.open(db) as bot:
        await importing.tune_for_import()
        assert await scalar(importing._conn, "PRAGMA synchronous") == 1  # NORMAL
        assert await scalar(importing._conn, "PRAGMA cache_size") == -IMPORT_CACHE_KIB
        assert await scalar(importing._conn, "PRAGMA temp_store") == 2  # MEMORY
        assert await scalar(importing._conn, "PRAGMA journal_mode") == "wal"
        assert await scalar(bot._conn, "PRAGMA synchronous") == 2  # FULL, as always
        assert await scalar(bot._conn, "PRAGMA cache_size") != -IMPORT_CACHE_KIB
