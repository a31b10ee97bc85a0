"""Scenario 3 — the bot's connection is reset, blackholed or left half-open, through a proxy.

The bot connects to ngircd through `tests.faultproxy.FaultProxy`; the people connect
directly. While talkers say numbered lines, the proxy breaks the bot's connection, in turn:

- reset: both ends get a TCP RST;
- blackhole: nothing passes either way and nobody is told (the bot's watchdog must find
  out: a PING after `ping_after` seconds of silence, give up after `dead_after`);
- half-open: the server side is closed, the bot's side stays open and silent.

For each fault: detection time (fault to the bot logging `irc.disconnected`), recovery
time (fault to the observer seeing the bot join again, through a new connection; a line
said after that must then reach the database), and at the end the lines missing from the
minutes with no recorded gap (must be 0). Lines said into a silent connection are lost
to the bot — the server still counts it as present — and the minutes declare that time
as a gap.

Then a slow-drip period: server data reaches the bot a few bytes at a time; the bot must
stay connected and lose nothing.

Delays: `_meeting.FAST_TIMING` (PING after 1.5 s of silence, reconnect after 3 s, first
retry within 0.5 s); production defaults are 60 s, 120 s and 10 s.
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
    Stage,
    line_figures,
    log_events,
    log_size,
    log_time,
    spread,
    stage,
    workspace,
)
from tests.faultproxy import FaultProxy

TITLE = "the connection is reset, blackholed or half-open (fault proxy), then slow"

NAME = "s3_connection_faults"
KINDS = ("reset", "blackhole", "half-open")


async def run(profile: Profile) -> Result:
    faults = profile.pick(3, 50)
    drip_seconds = profile.pick(2.0, 20.0)
    budget = profile.pick(90.0, 600.0)
    rate = 10.0
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    result = Result(
        NAME,
        must_be_zero=(
            *LINE_CHECKS,
            "faults not detected",
            "faults not recovered from",
            "disconnects during slow drip",
            "lines missing after slow drip",
        ),
        must_be_true=("meeting started and ended", "integrity_check ok"),
    )
    result.notes.append(f"seed {seed}; {rate:g} lines/s; faults in turn: {', '.join(KINDS)}")
    result.notes.append(TIMING_NOTE)
    deadline = time.monotonic() + budget
    detect: dict[str, list[float]] = {k: [] for k in KINDS}
    recover: dict[str, list[float]] = {k: [] for k in KINDS}
    undetected = unrecovered = done = 0
    with workspace(NAME) as tmp:
        async with stage(tmp) as st:
            proxy = await FaultProxy(st.ircd.port).start()
            try:
                st.bot.port = proxy.port
                st.bot.start()
                started = await st.start_meeting()
                stop = asyncio.Event()
                talking = asyncio.create_task(st.talkers.talk(1_000_000, rate, budget, stop=stop))
                for n in range(faults if started else 0):
                    if time.monotonic() > deadline:
                        result.notes.append(f"time budget reached after {done} faults")
                        break
                    kind = KINDS[n % len(KINDS)]
                    await asyncio.sleep(rng.uniform(0.3, 1.0))
                    detected, recovered = await _fault(st, proxy, kind, deadline)
                    done += 1
                    if detected is None:
                        undetected += 1
                    else:
                        detect[kind].append(detected)
                    if recovered is None:
                        unrecovered += 1
                    else:
                        recover[kind].append(recovered)
                drip = await _slow_drip(st, proxy, drip_seconds) if started else (0, 0, 0)
                stop.set()
                await asyncio.wait_for(talking, 15.0)
                await asyncio.sleep(0.5)
                ended = started and await st.end_meeting()
            finally:
                st.bot.stop()
                await proxy.close()
            acc, _ = st.accounting()
            drip_missing = sum(1 for k in acc.missing if k in drip[2])
            result.figures.update(
                {
                    "faults": done,
                    "lines said": len(st.talkers.said),
                    **line_figures(acc),
                    "of which said into a silent connection": st.seen_while_present(acc.in_gaps),
                    "faults not detected": undetected,
                    "faults not recovered from": unrecovered,
                    **{
                        f"{kind}: detection, s (median / max)": spread(detect[kind])
                        for kind in KINDS
                    },
                    **{
                        f"{kind}: recovery, s (median / max)": spread(recover[kind])
                        for kind in KINDS
                    },
                    "slow drip: seconds, bytes delivered": f"{drip_seconds:g} s, {drip[1]}",
                    "disconnects during slow drip": drip[0],
                    "lines missing after slow drip": drip_missing,
                    "gaps recorded": st.gaps(),
                    "integrity_check ok": st.integrity() == "ok",
                    "meeting started and ended": bool(started and ended),
                }
            )
            if acc.silently_lost:
                result.notes.append(f"silently lost: {acc.numbers(acc.silently_lost)[:20]}")
    return result


async def _fault(
    st: Stage, proxy: FaultProxy, kind: str, deadline: float
) -> tuple[float | None, float | None]:
    """Break the bot's connection; (detection, recovery) in seconds, None if not seen."""
    offset = log_size(st.bot)
    mark = len(st.observer.seen)
    at_wall = datetime.now(UTC)
    at = time.monotonic()
    if kind == "reset":
        proxy.reset()
    elif kind == "blackhole":
        proxy.blackhole()
    else:
        proxy.half_open()
    detected: float | None = None
    limit = min(deadline, at + 30.0)
    while time.monotonic() < limit:
        events = log_events(st.bot, "irc.disconnected", offset=offset)
        if events:
            detected = (log_time(events[0]) - at_wall).total_seconds()
            break
        await asyncio.sleep(0.05)
    joined = await st.joined(max(1.0, limit - time.monotonic()), since=mark)
    if joined is None or await st.recording_again(joined, 15.0) is None:
        return detected, None
    return detected, joined - at


async def _slow_drip(st: Stage, proxy: FaultProxy, seconds: float) -> tuple[int, int, set[str]]:
    """Server data to the bot 3 bytes every 5 ms for `seconds`, then full speed again.
    Returns (disconnects logged meanwhile, bytes delivered, keys of lines said meanwhile)."""
    offset = log_size(st.bot)
    first = len(st.talkers.said)
    links = proxy.live()
    before = sum(link.to_client for link in links)
    proxy.slow_drip(chunk=3, interval=0.005)
    await asyncio.sleep(seconds)
    proxy.heal()
    healed = time.monotonic()
    caught_up = await st.recording_again(healed, 15.0) is not None
    disconnects = len(log_events(st.bot, "irc.disconnected", offset=offset)) + (not caught_up)
    delivered = sum(link.to_client for link in links) - before
    said = {f"<{s.nick}> {s.text}" for s in st.talkers.said[first:]}
    return disconnects, delivered, said
