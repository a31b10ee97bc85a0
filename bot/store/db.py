"""Thin helpers over an `aiosqlite.Connection`: run one statement, run one statement many times.

Each helper closes its cursor on the connection's own thread. They know nothing of the
schema and must not start or end transactions on their own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from typing import Any, TypeVar, cast

import aiosqlite

Row = tuple[Any, ...]
Params = Sequence[object] | Mapping[str, object]
T = TypeVar("T")


async def in_thread(conn: aiosqlite.Connection, work: Callable[..., T], *args: object) -> T:
    """Run `work(sqlite3_connection, *args)` on the connection's own thread, in one trip.

    For a sequence of statements that must not pay one thread hand-off each. It uses
    aiosqlite's `_execute` and `_conn`, the way its own methods run (the version is pinned
    below 1 in pyproject.toml; tests/test_store.py covers this path)."""
    raw: sqlite3.Connection = conn._conn
    execute = cast(Callable[..., Awaitable[T]], conn._execute)
    return await execute(work, raw, *args)


async def run(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> list[Row]:
    """Run one statement and return its rows (none for statements that change data).

    `execute_fetchall` executes and fetches in one trip to the connection's thread, where the
    cursor is also released."""
    return [tuple(row) for row in await conn.execute_fetchall(sql, params)]


async def run_many(conn: aiosqlite.Connection, sql: str, rows: Sequence[Sequence[object]]) -> int:
    """Run one data-changing statement once per row; return the number of rows it changed."""
    async with conn.executemany(sql, rows) as cursor:
        return cursor.rowcount


async def scalar(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> Any:
    """The first column of the first row, or None when there is no row."""
    rows = await run(conn, sql, params)
    return rows[0][0] if rows else None


async def rollback(conn: aiosqlite.Connection) -> None:
    """End a failed transaction without hiding the error that failed it.

    SQLite may already have rolled back by itself (a full disk, an I/O error), in which case
    ROLLBACK fails with "no transaction is active"; that second error is dropped so the caller
    re-raises the first one."""
    with suppress(sqlite3.Error):
        await run(conn, "ROLLBACK")
