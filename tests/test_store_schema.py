"""Schema versions and migrations on real files: new files, reopening, newer files refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from bot.core.effects import MeetingStarted
from bot.store import SCHEMA_VERSION, Store, StoreError
from bot.store.schema import MIGRATIONS, Migration, migrate, user_version
from tests.recordkit import blank_record

TABLES = {
    "meetings",
    "chairs",
    "lines",
    "items",
    "votes",
    "named",
    "presence",
    "gaps",
    "quarantine",
}
TABLES |= {"successes", "outbox"}


def inspect(path: Path) -> tuple[int, set[str], str]:
    """user_version, table names and journal mode, read with plain sqlite3."""
    db = sqlite3.connect(path)
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        db.close()
    return version, names, mode


def make_file(path: Path, version: int) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE TABLE future (x)")
        db.execute(f"PRAGMA user_version = {version}")
        db.commit()
    finally:
        db.close()


async def test_new_file_gets_schema_and_version(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "gavel.sqlite3"
    store = await Store.open(path)
    await store.close()
    version, names, mode = inspect(path)
    assert version == SCHEMA_VERSION == len(MIGRATIONS)
    assert names >= TABLES
    assert mode == "wal"


async def test_reopening_is_harmless(tmp_path: Path) -> None:
    path = tmp_path / "gavel.sqlite3"
    for _ in range(3):
        store = await Store.open(path)
        assert await store.integrity_check() == "ok"
        await store.close()
    assert inspect(path)[0] == SCHEMA_VERSION


async def test_newer_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "gavel.sqlite3"
    newer = SCHEMA_VERSION + 1
    make_file(path, newer)
    with pytest.raises(StoreError) as info:
        await Store.open(path)
    assert str(info.value) == (
        f"database schema version {newer} is newer than this Gavel (knows up to "
        f"{SCHEMA_VERSION}); upgrade Gavel"
    )
    version, names, _ = inspect(path)
    assert version == newer
    assert names == {"future"}


async def test_empty_existing_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "gavel.sqlite3"
    path.touch()
    store = await Store.open(path)
    await store.close()
    assert inspect(path)[0] == SCHEMA_VERSION


async def test_later_migrations_run_in_order_and_once(tmp_path: Path) -> None:
    path = tmp_path / "gavel.sqlite3"
    await (await Store.open(path)).close()
    extra: tuple[Migration, ...] = (
        *MIGRATIONS,
        ("CREATE TABLE two (x)", "INSERT INTO two VALUES ('v2')"),
        ("INSERT INTO two VALUES ('v3')",),
    )
    for _ in range(2):
        async with aiosqlite.connect(path, isolation_level=None) as conn:
            assert await migrate(conn, extra) == SCHEMA_VERSION + 2
            assert await user_version(conn) == SCHEMA_VERSION + 2
            rows = await conn.execute_fetchall("SELECT x FROM two ORDER BY rowid")
            assert [r[0] for r in rows] == ["v2", "v3"]


async def test_failing_migration_leaves_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "gavel.sqlite3"
    await (await Store.open(path)).close()
    broken: tuple[Migration, ...] = (*MIGRATIONS, ("CREATE TABLE half (x)", "NOT SQL AT ALL"))
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        with pytest.raises(sqlite3.OperationalError):
            await migrate(conn, broken)
        assert await user_version(conn) == SCHEMA_VERSION
    assert "half" not in inspect(path)[1]
    store = await Store.open(path)  # the real code still opens it
    await store.close()


async def test_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gavel.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        await Store.open(path)


async def test_a_running_meeting_from_version_1_keeps_going_with_a_saved_topic(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gavel.sqlite3"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        assert await migrate(conn, MIGRATIONS[:1]) == 1
        await conn.execute(
            "INSERT INTO meetings (id, network, channel, name, topic, owner, timezone, "
            "started_at, length_minutes, info_url, bot_nick, casemapping, restricted, lurking) "
            "VALUES (5, 'net', '#c', 'old', NULL, 'alice', 'UTC', "
            "'2024-05-01T12:00:00.000000+00:00', 60, '', 'gavel', 'rfc1459', 0, 0)"
        )
    async with await Store.open(path) as store:
        (old,) = await store.load_running()
        assert old.name == "old" and old.saved_topic is None  # not known before: left alone
        await store.apply([MeetingStarted(blank_record(id=6, saved_topic="Welcome | agenda"))])
        new = await store.load(6)
        assert new is not None and new.saved_topic == "Welcome | agenda"
    assert inspect(path)[0] == SCHEMA_VERSION
