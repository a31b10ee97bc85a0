"""Child process for the kill test: append lines to a meeting forever (bounded), reporting each
line number on stdout only after the batch holding it has been committed.

Usage: python store_crash_child.py DB MEETING_ID. Not a test module; the test SIGKILLs it.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.effects import Effect, LineRecorded, VoteChanged
from bot.core.record import Ballot, LogLine
from bot.store import Store

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)
MAX_LINES = 200_000  # the test kills the child long before this


async def main(path: Path, meeting_id: int) -> None:
    store = await Store.open(path)
    meeting = await store.load(meeting_id)
    assert meeting is not None and meeting.votes
    n = meeting.lines[-1].n if meeting.lines else 0
    vote = meeting.votes[0]
    batch_size = 1
    while n < MAX_LINES:
        effects: list[Effect] = []
        for _ in range(batch_size):
            n += 1
            text = f"line {n} \x00\u202e"
            effects.append(
                LineRecorded(
                    meeting_id, LogLine(n, T0 + timedelta(milliseconds=n), "bob", "message", text)
                )
            )
        # The vote rides in the same transaction: after the kill it must name the last line.
        vote = replace(vote, ballots=(Ballot(f"v{n}", "yes"),), opened_line=n)
        effects.append(VoteChanged(meeting_id, vote))
        await store.apply(effects)
        sys.stdout.write("".join(f"{k}\n" for k in range(n - batch_size + 1, n + 1)))
        sys.stdout.flush()
        batch_size = batch_size % 7 + 1
    await store.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
