"""Logging: the context an event was handled in, and one format for every log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog

from bot import logs
from bot.core.events import MessageSeen, Quit
from bot.store import Store
from tests.test_engine import engine_for

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """`logs.configure` changes process-wide settings: put them back afterwards."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    structlog.configure(**saved)
    root.handlers[:] = handlers
    root.setLevel(level)


def test_standard_library_records_are_json_in_json_mode(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("info", "json")
    structlog.configure(cache_logger_on_first_use=False)  # no logger kept past this test
    with structlog.contextvars.bound_contextvars(network="libera"):
        logging.getLogger("asyncio").warning("socket.send() raised %s", "an exception")
        structlog.get_logger("gavel.test").warning("ours", detail=1)
    logging.getLogger("asyncio").info("below the level")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    theirs, ours = (json.loads(line) for line in lines)
    assert theirs["event"] == "socket.send() raised an exception"
    assert (theirs["level"], theirs["logger"], theirs["network"]) == (
        "warning",
        "asyncio",
        "libera",
    )
    assert "timestamp" in theirs
    assert (ours["event"], ours["level"], ours["detail"], ours["network"]) == (
        "ours",
        "warning",
        1,
        "libera",
    )


def test_configuring_twice_keeps_one_handler(restored_logging: None) -> None:
    logs.configure("info", "json")
    logs.configure("debug", "console")
    assert [h.get_name() for h in logging.getLogger().handlers].count("gavel") == 1


async def test_a_failing_event_logs_where_it_happened(tmp_path: Path) -> None:
    def message(n: int, text: object) -> MessageSeen:
        time = START + timedelta(seconds=n)
        return MessageSeen("net", time, n, "#chan", "alice", text, "gavel")  # type: ignore[arg-type]

    events: list[object] = [
        message(1, "#startmeeting test"),
        message(2, None),  # malformed: the core fails on it
        Quit("net", START, 3, "bob", "bye"),
    ]
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        engine = engine_for(tmp_path, store, None)
        queue = engine.queue
        for event in events:
            queue.put_nowait(event)  # type: ignore[arg-type]
        with structlog.testing.capture_logs(processors=[logs.merge_event_context]) as captured:
            await engine.drain()
    (failed,) = [e for e in captured if e["event"] == "event_failed"]
    assert (failed["network"], failed["channel"], failed["meeting"], failed["event_id"]) == (
        "net",
        "#chan",
        1,
        2,
    )
    assert failed["event_type"] == "MessageSeen" and "exc_info" in failed
    assert logs.merge_event_context(None, "info", {}) == {}  # nothing leaks past the event
    assert engine.stats.failures == 1
