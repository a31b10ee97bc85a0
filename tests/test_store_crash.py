"""kill -9 while writing: every line reported committed is there, and the file is sound."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.core.effects import MeetingStarted, VoteChanged
from bot.core.record import MeetingRecord, VoteRecord
from bot.store import Store
from tests.recordkit import blank_record

HERE = Path(__file__).resolve().parent
CHILD = HERE / "store_crash_child.py"
T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)
ROUNDS = 3
READ_TIMEOUT = 30.0


def header() -> MeetingRecord:
    return blank_record(start=T0)


async def run_and_kill(path: Path, wanted: int) -> list[int]:
    """Start the child, wait until it reports `wanted` more lines, SIGKILL it at a random
    moment soon after, and return every line number it reported before dying."""
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), str(path), "1", stdout=asyncio.subprocess.PIPE, env=env
    )
    assert proc.stdout is not None
    reported: list[int] = []
    try:
        while len(reported) < wanted:
            raw = await asyncio.wait_for(proc.stdout.readline(), READ_TIMEOUT)
            assert raw, f"child ended early with {await proc.wait()}"
            reported.append(int(raw))
        await asyncio.sleep(random.uniform(0, 0.02))
    finally:
        if proc.returncode is None:
            os.kill(proc.pid, signal.SIGKILL)
        rest = await asyncio.wait_for(proc.stdout.read(), READ_TIMEOUT)
        await asyncio.wait_for(proc.wait(), READ_TIMEOUT)
    reported.extend(int(x) for x in rest.split())
    assert proc.returncode == -signal.SIGKILL
    return reported


async def test_sigkill_loses_no_committed_line(tmp_path: Path) -> None:
    path = tmp_path / "gavel.sqlite3"
    vote = VoteRecord(1, "q", ("yes", "no"), (), "alice", T0, 0)
    async with await Store.open(path) as store:
        await store.apply([MeetingStarted(header()), VoteChanged(1, vote)])

    committed: set[int] = set()
    for round_ in range(ROUNDS):
        committed.update(await run_and_kill(path, wanted=150 + 100 * round_))
        async with await Store.open(path) as store:
            assert await store.integrity_check() == "ok"
            meeting = await store.load(1)
        assert meeting is not None
        stored = [line.n for line in meeting.lines]
        assert committed <= set(stored)
        assert stored == list(range(1, len(stored) + 1))  # whole batches only, no holes
        # The vote was written in the same transactions as the lines: it matches the last one.
        assert meeting.votes[0].opened_line == stored[-1]
        assert meeting.lines[-1].text == f"line {stored[-1]} \x00\u202e"
