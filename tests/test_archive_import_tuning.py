"""The import's plumbing: its connection settings (its own connection only, never the
bot's) and the workers' results in order with a bounded lead on the writer."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config_loader import load_settings
from bot.importer import ImportOptions, _start_worker, parsed_in_order
from bot.store import Store
from bot.store.db import scalar
from bot.store.importing import IMPORT_CACHE_KIB
from tests.archivekit import config, eavesdrop_path, meeting_log, write
from tests.corekit import Room


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
        # Noting a meeting's files published (as `--write-files` does) keeps both settings.
        room = Room()
        await bot.apply([*room.say("alice", "#startmeeting x"), *room.say("alice", "#endmeeting")])
        assert room.meeting is None
        ids = await bot.all_meeting_ids()
        await importing.mark_published(ids[0], datetime(2015, 3, 2, tzinfo=UTC))
        await bot.mark_published(ids[0], datetime(2015, 3, 2, tzinfo=UTC))
        assert await scalar(importing._conn, "PRAGMA synchronous") == 1
        assert await scalar(bot._conn, "PRAGMA synchronous") == 2


def test_workers_results_come_in_file_order_with_a_bounded_lead(tmp_path: Path) -> None:
    start = datetime(2015, 3, 2, 16, 0, tzinfo=UTC)
    names = []
    for i in range(7):
        moment = start + timedelta(days=i)
        log = meeting_log("nova", moment, [("bob", f"line {j} of meeting {i}") for j in range(i)])
        names.append(str(write(eavesdrop_path(tmp_path / "tree", "nova", moment), log)))
    names.insert(3, str(write(tmp_path / "tree" / "chat.log.txt", "10:00:00 <bob> hi\n")))
    settings = load_settings(config(tmp_path))
    context = multiprocessing.get_context("fork")
    with context.Pool(2, _start_worker, (settings, ImportOptions("oftc"), False)) as pool:
        got = list(parsed_in_order(pool, names, ahead=2))
    assert [p.path for p in got] == names
    assert [p.lines for p in got] == [4, 5, 6, 0, 7, 8, 9, 10]
    assert got[3].problem == "not a meeting log (no #startmeeting)"
