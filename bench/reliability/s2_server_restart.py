"""Scenario 2 — the IRC server is killed (SIGKILL) and restarted during a meeting.

Talkers keep saying numbered lines (coming back by themselves after each outage) while
ngircd is killed at random moments, left down for a random while and started again on
the same port. Each time the observer and the chair reconnect, and the round ends when a
line said after the restart is in the bot's database. Measured: lines lost (missing from
the minutes with no recorded gap around them — lines said while the bot was present),
gaps recorded (one per outage), and the time from the server accepting connections again
to the bot being back in the channel (the end of its gap, from the database).

The bot runs with the scenario delays of `_meeting.FAST_TIMING` (first reconnect within
0.5 s, at most 2 s); with the production defaults (10 s, growing to 300 s) only the
waits would be longer.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime

from bench.reliability import Profile, Result
from bench.reliability._meeting import (
    LINE_CHECKS,
    TIMING_NOTE,
    line_figures,
    spread,
    stage,
    workspace,
)
from tests.talkers import meeting_ids, recorded_from_db

TITLE = "the IRC server is killed and restarted during a meeting"

NAME = "s2_server_restart"


async def run(profile: Profile) -> Result:
    rounds = profile.pick(3, 20)
    budget = profile.pick(60.0, 600.0)
    rate = 10.0
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    result = Result(
        NAME,
        must_be_zero=(
            *LINE_CHECKS,
            "outages without a recorded gap",
            "outages the bot did not come back from",
        ),
        must_be_true=("meeting started and ended", "integrity_check ok"),
    )
    result.notes.append(f"seed {seed}; {rate:g} lines/s from 3 talkers; server killed by SIGKILL")
    result.notes.append(TIMING_NOTE)
    deadline = time.monotonic() + budget
    with workspace(NAME) as tmp:
        async with stage(tmp) as st:
            st.bot.start()
            started = await st.start_meeting()
            stop = asyncio.Event()
            talking = asyncio.create_task(
                st.talkers.talk(1_000_000, rate, budget, stop=stop, reconnect=True)
            )
            back_at: list[datetime] = []
            returned = 0
            for _ in range(rounds if started else 0):
                if time.monotonic() > deadline:
                    result.notes.append("time budget reached")
                    break
                await asyncio.sleep(rng.uniform(0.5, 1.5))
                st.ircd.kill()
                await asyncio.sleep(rng.uniform(0.2, 1.0))
                st.ircd.start()
                back_at.append(datetime.now(UTC))
                up = time.monotonic()
                await st.reconnect_people()
                returned += await st.recording_again(up, 30.0) is not None
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.wait_for(talking, 15.0)
            ended = started and await st.end_meeting()
            st.bot.stop()
            acc, _ = st.accounting()
            ids = meeting_ids(st.bot.database)
            gaps = recorded_from_db(st.bot.database, ids[0])[1] if ids else []
            rejoin = _rejoin_seconds(back_at, [datetime.fromisoformat(g.end) for g in gaps])
            outages = len(back_at)
            result.figures.update(
                {
                    "server restarts": outages,
                    "lines said": len(st.talkers.said),
                    **line_figures(acc),
                    "gaps recorded": f"{len(gaps)}/{outages}",
                    "outages without a recorded gap": max(0, outages - len(gaps)),
                    "outages the bot did not come back from": outages - returned,
                    "server up to bot rejoined, s (median / max)": spread(rejoin),
                    "integrity_check ok": st.integrity() == "ok",
                    "meeting started and ended": bool(started and ended),
                }
            )
            if len(gaps) > outages:
                result.notes.append(f"{len(gaps)} gaps for {outages} outages")
            if acc.silently_lost:
                result.notes.append(f"silently lost: {acc.numbers(acc.silently_lost)[:20]}")
    return result


def _rejoin_seconds(back_at: list[datetime], gap_ends: list[datetime]) -> list[float]:
    """For each restart, the first gap end after it: how long the bot took to be back."""
    found = []
    for i, up in enumerate(back_at):
        later = back_at[i + 1] if i + 1 < len(back_at) else None
        ends = [e for e in gap_ends if e >= up and (later is None or e < later)]
        if ends:
            found.append((min(ends) - up).total_seconds())
    return found
