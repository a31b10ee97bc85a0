"""Scenario 1 — the bot is killed (SIGKILL) at random moments of a meeting and restarted.

Three talkers say numbered lines at a steady rate through a whole meeting on a real ngircd
while the bot is killed at random moments (random line positions, plus a random fraction
of a line's interval) and started again at once. After each kill, before the restart,
`PRAGMA integrity_check` runs on the database; after each restart the chair's `#chair`
must be answered with her as chair — the meeting goes on without a new `#startmeeting`.
At the end the lines the observer saw are compared with the lines in the database:

- a line missing where the minutes record no gap is lost silently (must be 0);
- a line missing inside a recorded gap is declared: it was said while the bot was down,
  or it reached the bot's socket after its last committed batch when SIGKILL struck (the
  server still counted the bot as joined; "in flight at the kill" counts those). No bot
  can record a line its process never read; the minutes show the time as a gap.
"""

from __future__ import annotations

import asyncio
import random
import time

from bench.reliability import Profile, Result
from bench.reliability._meeting import LINE_CHECKS, line_figures, spread, stage, workspace

TITLE = "kill -9 of the bot at random moments of a meeting, then restart"

NAME = "s1_kill9"


async def run(profile: Profile) -> Result:
    kills = profile.pick(5, 50)
    lines = profile.pick(200, 2000)
    rate = 20.0  # lines per second, all talkers together
    budget = profile.pick(60.0, 600.0)
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    result = Result(
        NAME,
        must_be_zero=(
            *LINE_CHECKS,
            "integrity_check failures",
            "restarts without the meeting resumed",
            "extra meetings or #startmeeting lines",
        ),
        must_be_true=("meeting started and ended",),
    )
    result.notes.append(f"seed {seed}; {rate:g} lines/s from 3 talkers")
    deadline = time.monotonic() + budget
    with workspace(NAME) as tmp:
        async with stage(tmp) as st:
            st.bot.start()
            started = await st.start_meeting()
            points = sorted(rng.sample(range(lines // 20, lines - lines // 20), kills))
            talking = asyncio.create_task(st.talkers.talk(lines, rate, budget))
            done = ok = resumed = 0
            rejoin: list[float] = []
            for point in points if started else []:
                while st.talkers.next_number < point and not talking.done():
                    if time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.005)
                if time.monotonic() > deadline:
                    result.notes.append(f"time budget reached after {done} kills")
                    break
                await asyncio.sleep(rng.uniform(0, 1 / rate))
                mark = len(st.observer.seen)
                st.bot.kill()
                done += 1
                ok += st.integrity() == "ok"
                restarted = time.monotonic()
                st.bot.start()
                at = await st.joined(20.0, since=mark)
                if at is not None:
                    rejoin.append(at - restarted)
                resumed += await st.acknowledged(10.0)
            try:
                await asyncio.wait_for(talking, max(1.0, deadline - time.monotonic()))
            except TimeoutError:
                result.notes.append("talkers stopped by the time budget")
            await asyncio.sleep(0.5)
            ended = started and await st.end_meeting()
            st.bot.stop()
            acc, meetings = st.accounting()
            starts = st.recorded_count("#startmeeting%")
            in_flight = st.seen_while_present(acc.in_gaps)
            result.figures.update(
                {
                    "kills": done,
                    "lines said": len(st.talkers.said),
                    **line_figures(acc),
                    "of which in flight at the kill (bot still joined)": in_flight,
                    "integrity_check ok": f"{ok}/{done}",
                    "integrity_check failures": done - ok,
                    "resumed without #startmeeting": f"{resumed}/{done}",
                    "restarts without the meeting resumed": done - resumed,
                    "extra meetings or #startmeeting lines": max(0, meetings - 1)
                    + max(0, starts - 1),
                    "restart to rejoin, s (median / max)": spread(rejoin),
                    "meeting started and ended": bool(started and ended),
                }
            )
            if acc.silently_lost:
                result.notes.append(f"silently lost: {acc.numbers(acc.silently_lost)[:20]}")
    return result
