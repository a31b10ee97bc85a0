"""Scenario 8 — flood: many reply-triggering commands from five people at once.

The real bot (rate 1 line/s, burst 4: the defaults) sits on a scripted server, which
timestamps every line the bot sends. Five people, all chairs of a running meeting with an
open vote, send `#commands`, `#showvote`, `#vote maybe`, `#startmeeting again`, `#chair`
and `#startvote` as fast as the profile says (1,000 in 10 s in full). All the while the
server PINGs the bot every second.

Measured, from the times the server received each line:
- `lines_without_token`: every line replayed through the documented bucket (full at
  the first line; PRIVMSG/TOPIC/JOIN need a token; PONG and the other protocol lines go
  first and spend a token if there is one): paced lines sent with no token (0.25 s slack);
- `bucket_excess_lines`: paced lines, in any interval, beyond `burst + rate × interval`;
  `bucket_max_excess_incl_pongs` shows the same with PONGs counted (informational: a PONG
  never waits, so with a PING every 2 s the total runs ahead of the bucket by about one
  line per PING that found the bucket empty);
- PONG latency and missing PONGs while the output queue is full;
- disconnects: the server closes the connection with `Excess Flood` if the bot's paced
  lines ever go one line beyond the bucket, as a strict network would; connections made
  and disconnects the bot logged before SIGTERM are counted too;
- that every command line was recorded in the meeting's `.log.txt` despite the flood.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from bench.reliability import Profile, Result
from bench.reliability._abuse import (
    Bot,
    BotServer,
    RawPeer,
    Sent,
    disconnect_records,
    log_records,
    privmsg,
    until,
    until_stopping,
)

TITLE = "Flood: reply-triggering commands from 5 people; bucket, PONG, disconnects"

CHANNEL = "#flood"
PEOPLE = ("p1", "p2", "p3", "p4", "p5")
COMMANDS = (
    "#commands",
    "#showvote",
    "#vote maybe",
    "#startmeeting again",
    "#chair",
    "#startvote Again? a, b",
)
RATE, BURST = 1.0, 4  # the bot's defaults (NetworkConfig)
SLACK_SECONDS = 0.25  # timing noise allowed between the bot's clock and ours
PACED = frozenset({"PRIVMSG", "TOPIC", "JOIN", "NOTICE", "MODE"})
PING_EVERY = 2.0  # often enough to measure; PONGs spend tokens too (their cost shows)


def bucket_excess(times: list[float], rate: float, burst: int, slack: float) -> float:
    """The most lines, over all intervals [t_i, t_j], beyond `burst + rate × (Δt + slack)`
    (≤ 0 when the lines conform to the bucket)."""
    worst = float("-inf")
    for i, first in enumerate(times):
        for j in range(i, len(times)):
            allowed = burst + rate * (times[j] - first + slack)
            worst = max(worst, (j - i + 1) - allowed)
    return worst if times else 0.0


def lines_without_token(
    sent: list[tuple[float, bool]], rate: float, burst: int, slack: float
) -> int:
    """Replay (time, paced?) of every line the bot sent through the documented bucket
    (full at the first line; a paced line needs a token; PONG and the other protocol
    lines go first and spend a token if there is one): paced lines that had none."""
    tokens, last, bad = float(burst), None, 0
    for at, paced in sent:
        if last is not None:
            tokens = min(float(burst), tokens + (at - last) * rate)
        last = at
        if paced and tokens < 1 - rate * slack:
            bad += 1
        tokens = max(tokens - 1, 0.0)
    return bad


@dataclass
class Flood:
    commands: int = 0
    send_seconds: float = 0.0
    paced: list[float] = field(default_factory=list)
    every: list[float] = field(default_factory=list)
    lines: list[tuple[float, bool]] = field(default_factory=list)
    total_lines: int = 0
    ping_sent: dict[str, float] = field(default_factory=dict)
    excess_floods: int = 0
    recorded: int = 0
    latencies: list[float] = field(default_factory=list)
    connections: int = 0
    lost: int = 0  # disconnects the bot logged before SIGTERM
    exit_code: int | None = None
    exit_seconds: float = 0.0


class StrictServer:
    """Closes the bot's connection (`Excess Flood`) once it exceeds its bucket + 1 line."""

    def __init__(self, peer: RawPeer, flood: Flood) -> None:
        self.peer = peer
        self.flood = flood
        self.seen = 0

    def paced_times(self) -> list[float]:
        return [s.at for s in self.peer.sent if _paced(s)]

    async def watch(self, stop_at: float) -> None:
        while time.monotonic() < stop_at and not self.peer.closed:
            await asyncio.sleep(0.05)
            times = self.paced_times()
            if len(times) == self.seen:
                continue
            self.seen = len(times)
            if bucket_excess(times[-64:], RATE, BURST, SLACK_SECONDS) >= 1.0:
                self.flood.excess_floods += 1
                self.peer.write(b"ERROR :Closing Link: gavel.test (Excess Flood)\r\n")
                self.peer.writer.close()
                return


def _paced(sent: Sent) -> bool:
    return sent.command in PACED


async def _pinger(peer: RawPeer, flood: Flood, stop_at: float) -> None:
    n = 0
    while time.monotonic() < stop_at and not peer.closed:
        token = f"flood-{n}"
        flood.ping_sent[token] = time.monotonic()
        peer.write(f"PING :{token}\r\n".encode())
        n += 1
        await asyncio.sleep(PING_EVERY)


async def flood_bot(workdir: Path, count: int, seconds: float, tail: float, flood: Flood) -> None:
    server = await BotServer("").start()
    bot = Bot(workdir / "bot", server.port, channels=[CHANNEL], rate=RATE)
    tasks: list[asyncio.Task[None]] = []
    try:
        bot.start()
        peer = await server.next_raw_peer(20)
        peer.members[CHANNEL] = " ".join(PEOPLE)
        await peer.wait_joined(CHANNEL, 20)
        # The meeting is set up just before the flood (its replies are queued first).
        await peer.send_raw(privmsg("p1", CHANNEL, "#startmeeting flood"))
        await peer.send_raw(privmsg("p1", CHANNEL, "#chair p2 p3 p4 p5"))
        await peer.send_raw(privmsg("p1", CHANNEL, "#startvote Flood? yes, no"))
        await peer.send_raw(privmsg("p2", CHANNEL, "#vote yes"))
        started = time.monotonic()
        stop_at = started + seconds + tail
        strict = StrictServer(peer, flood)
        tasks = [
            asyncio.create_task(_pinger(peer, flood, stop_at)),
            asyncio.create_task(strict.watch(stop_at)),
        ]
        for n in range(count):
            who = PEOPLE[n % len(PEOPLE)]
            await peer.send_raw(privmsg(who, CHANNEL, COMMANDS[(n // 5) % len(COMMANDS)]))
            flood.commands += 1
            await asyncio.sleep(max(0.0, started + (n + 1) * seconds / count - time.monotonic()))
        flood.send_seconds = time.monotonic() - started
        await asyncio.gather(*tasks)
        await until(lambda: set(flood.ping_sent) <= set(peer.pongs), 2.0)
        flood.paced = strict.paced_times()
        flood.every = [sent.at for sent in peer.sent if sent.command != "QUIT"]
        flood.lines = [(sent.at, _paced(sent)) for sent in peer.sent]
        flood.total_lines = len(peer.sent)
        flood.latencies = [
            peer.pongs[t] - sent for t, sent in flood.ping_sent.items() if t in peer.pongs
        ]
        await peer.send_raw(privmsg("p1", CHANNEL, "#endmeeting"))
        await until(lambda: bool(list(bot.meetings.rglob("*.log.txt"))), 20)
        await asyncio.sleep(0.3)  # the five files are written together; let them land
        flood.exit_code, flood.exit_seconds = await bot.stop_by_sigterm()
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        bot.stop()
        await server.close()
    flood.connections = len(server.raw_peers)
    flood.lost = len(disconnect_records(until_stopping(log_records(bot))))
    flood.recorded = _recorded_commands(bot)


def _recorded_commands(bot: Bot) -> int:
    """Command lines from the five people in the meeting's `.log.txt`."""
    logs = list(bot.meetings.rglob("*.log.txt"))
    if not logs:
        return 0
    lines = logs[0].read_text(encoding="utf-8").splitlines()
    said = {f"<{who}> {command}" for who in PEOPLE for command in COMMANDS}
    return sum(line[9:] in said for line in lines)


async def run(profile: Profile) -> Result:
    result = Result(
        TITLE,
        must_be_zero=(
            "lines_without_token",
            "bucket_excess_lines",
            "pongs_missing",
            "flood_disconnects",
            "commands_not_recorded",
        ),
        must_be_true=("completed", "pong_within_1s"),
    )
    count = profile.pick(300, 1000)
    seconds = 10.0 if profile.full else 5.0
    tail = 15.0 if profile.full else 3.0
    flood = Flood()
    completed = True
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gavel-s8-") as tmp:
        try:
            await asyncio.wait_for(
                flood_bot(Path(tmp), count, seconds, tail, flood), seconds + tail + 60
            )
        except Exception as exc:
            completed = False
            result.notes.append(f"did not complete: {exc!r}")
            result.notes.append(traceback.format_exc(limit=3))
    excess = bucket_excess(flood.paced, RATE, BURST, SLACK_SECONDS)
    latencies = flood.latencies
    result.figures.update(
        {
            "commands": flood.commands,
            "send_seconds": round(flood.send_seconds, 1),
            "people": len(PEOPLE),
            "bot_paced_lines": len(flood.paced),
            "bot_lines_total": flood.total_lines,
            "bucket": f"burst {BURST}, {RATE:g}/s",
            "lines_without_token": lines_without_token(flood.lines, RATE, BURST, SLACK_SECONDS),
            "bucket_max_excess": round(excess, 2),
            "bucket_excess_lines": math.ceil(excess) if excess > 0 else 0,
            "bucket_max_excess_incl_pongs": round(
                bucket_excess(flood.every, RATE, BURST, SLACK_SECONDS), 2
            ),
            "pings": len(flood.ping_sent),
            "pongs_missing": len(flood.ping_sent) - len(latencies),
            "pong_max_s": round(max(latencies, default=0.0), 3),
            "pong_within_1s": bool(latencies) and max(latencies) < 1.0,
            "flood_disconnects": flood.excess_floods + flood.lost + max(0, flood.connections - 1),
            "commands_not_recorded": flood.commands - flood.recorded,
            "sigterm_exit_s": round(flood.exit_seconds, 2),
            "completed": completed and flood.exit_code == 0,
            "seconds": round(time.monotonic() - started, 1),
        }
    )
    return result
