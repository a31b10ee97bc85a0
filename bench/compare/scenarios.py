"""The five scenarios, each run against one bot: a fresh InspIRCd, a fresh bot process.

Every figure is taken from outside the bot: reply latency is the time from handing a
line to the socket to reading the bot's answer; lines per second are counted until the
meeting's files exist on disk; CPU and memory come from `/proc`. A scenario returns a
flat dict of figures (see `report.FIGURES` for names, units and targets).

Gavel gives each person at most ten replies to state changes a minute (`core/limits.py`),
so probes rotate across the three speakers of each meeting and every nick is used in one
meeting only: no probe reply is ever suppressed, in either bot. Replies in one channel
come in the order the bot handled the probes, so probe k is matched with the k-th
`Current chairs` line after the meeting was set up.

Every wait is bounded; a bot that does not answer in time yields a figure marked as a
timeout rather than a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from bench.compare.bots import Bot, Gavel, Peer, Reference
from bench.compare.client import Heard, Speaker
from bench.compare.ircd import HOST, InspIRCd
from bench.stats import percentile

Figures = dict[str, float]
MakeBot = Callable[[Path, int, list[str]], Bot]

LINES_PER_MEETING = 500
BIG_MEETING_LINES = 20_000
SCALE_CHANNELS = 500
SCALE_MEETINGS = 50
FLOOD_MEETINGS = 10
IDLE_SAMPLES = 100
IDLE_CHANNELS = 50  # two samples per owner: far inside the ten-replies-a-minute allowance
IDLE_GAP = 0.1  # seconds between commands, so the bot is idle when each arrives
CONNECT_PARALLEL = 40

_WORDS = [
    "the",
    "patch",
    "needs",
    "another",
    "review",
    "before",
    "we",
    "merge",
    "it",
    "into",
    "the",
    "stable",
    "branch",
    "then",
    "backport",
    "the",
    "fix",
    "to",
    "the",
    "previous",
    "release",
    "once",
    "the",
    "gate",
    "is",
    "green",
    "again",
    "and",
    "we",
    "should",
    "ask",
    "the",
    "docs",
    "team",
    "whether",
    "the",
    "upgrade",
    "notes",
    "cover",
    "the",
    "new",
    "database",
    "schema",
]
_ITEMS = ("#info", "#action", "#idea", "#help")


def chatter(n: int, speaker: str) -> str:
    """Meeting chatter: deterministic, 40-110 characters, an item every 25 lines."""
    start = (n * 7) % len(_WORDS)
    words = [_WORDS[(start + k) % len(_WORDS)] for k in range(6 + n % 12)]
    text = " ".join(words) + f" ({n})"
    if n % 25 == 12:
        kind = _ITEMS[(n // 25) % len(_ITEMS)]
        return f"{kind} {speaker} {text}" if kind == "#action" else f"{kind} {text}"
    return text


def ms(seconds: float) -> float:
    return seconds * 1000.0


# --- one bot on one fresh server ---------------------------------------------------------


@dataclass
class Stage:
    """A running server and bot, with the speakers connected to them."""

    ircd: InspIRCd
    bot: Bot
    speakers: list[Speaker] = field(default_factory=list)
    join_seconds: float = 0.0  # from the bot's start until it sat in every channel

    async def connect(self, nicks: list[str], timeout: float = 60.0) -> list[Speaker]:
        gate = asyncio.Semaphore(CONNECT_PARALLEL)

        async def one(nick: str) -> Speaker:
            async with gate:
                return await Speaker.connect(HOST, self.ircd.port, nick, self.bot.nick)

        async with asyncio.timeout(timeout):
            made = await asyncio.gather(*(one(n) for n in nicks))
        self.speakers += made
        return list(made)

    async def join(self, pairs: list[tuple[Speaker, str]], timeout: float = 60.0) -> None:
        gate = asyncio.Semaphore(CONNECT_PARALLEL)

        async def one(speaker: Speaker, channel: str) -> None:
            async with gate:
                await speaker.join(channel)

        async with asyncio.timeout(timeout):
            await asyncio.gather(*(one(s, c) for s, c in pairs))


@contextlib.asynccontextmanager
async def stage(workdir: Path, make_bot: MakeBot, channels: list[str]) -> AsyncIterator[Stage]:
    """Start InspIRCd and the bot, wait (bounded) until the bot sits in every channel."""
    ircd = InspIRCd(workdir / "ircd")
    ircd.start()
    bot = make_bot(workdir / "bot", ircd.port, channels)
    here = Stage(ircd, bot)
    try:
        bot.start()
        here.join_seconds = await wait_joined(here, len(channels), timeout=180.0)
        yield here
    finally:
        for speaker in here.speakers:
            with contextlib.suppress(Exception):
                await speaker.close()
        bot.stop()
        ircd.stop()


async def wait_joined(here: Stage, expected: int, timeout: float) -> float:
    """Seconds from the bot's start until WHOIS lists it in `expected` channels."""
    started = time.monotonic()
    (watcher,) = await here.connect([f"watch{here.ircd.port % 10000}"])
    deadline = started + timeout
    pattern = re.compile(rf" 31[89] \S+ {re.escape(here.bot.nick)} ")
    while time.monotonic() < deadline:
        if not here.bot.alive():
            raise RuntimeError(f"{here.bot.label} exited; see {here.bot.log}")
        watcher.numerics.clear()
        watcher.write(f"WHOIS {here.bot.nick}")
        count = 0
        ok = await watcher.wait_until(
            lambda: any(" 318 " in line for line in watcher.numerics), 5.0
        )
        if ok:
            for line in watcher.numerics:
                if pattern.search(line) and " 319 " in line:
                    count += len(line.split(" :", 1)[1].split())
        if count >= expected:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{here.bot.label} did not join {expected} channels in {timeout} s")


# --- meetings ------------------------------------------------------------------------------


@dataclass
class Meeting:
    channel: str
    name: str
    people: list[Speaker]  # the owner first; all three are chairs after set-up
    mark: int = 0  # index in the owner's view of the bot's lines where set-up ended
    start_latency: float = 0.0
    chair_latency: float = 0.0
    probes: list[tuple[float, int]] = field(default_factory=list)  # (sent at, own lines)
    replies: list[float] = field(default_factory=list)
    durable_checked: int = 0
    durable_violations: int = 0
    end_sent: float = 0.0
    end_reply: float = 0.0
    files_at: float = 0.0

    @property
    def owner(self) -> Speaker:
        return self.people[0]

    def heard(self) -> list[str]:
        return [h.text for h in self.owner.bot_lines(self.channel)]


async def make_meetings(
    here: Stage, prefix: str, count: int, channels: list[str] | None = None
) -> list[Meeting]:
    """Connect three people per meeting and join them to their channel."""
    channels = channels or [f"#{prefix}-{i:03d}" for i in range(count)]
    nicks = [f"{prefix}{i:03d}s{j}" for i in range(count) for j in range(3)]
    people = await here.connect(nicks)
    meetings = [
        Meeting(channels[i], f"{prefix}{i:03d}", people[3 * i : 3 * i + 3]) for i in range(count)
    ]
    await here.join([(p, m.channel) for m in meetings for p in m.people])
    for m in meetings:
        for person in m.people[1:]:
            person.listening = False  # only the owner's view of the channel is read
    return meetings


async def set_up(bot: Bot, m: Meeting, timeout: float) -> None:
    """#startmeeting, then #chair the other two; both latencies are kept."""
    await start_only(bot, m, timeout)
    chair = f"#chair {m.people[1].nick} {m.people[2].nick}"
    at, m.chair_latency = await _ask(bot, m, chair, bot.chair_marker, timeout)
    m.mark = at + 1


async def _ask(
    bot: Bot, m: Meeting, command: str, marker: str, timeout: float
) -> tuple[int, float]:
    """The owner says `command`; the index of the bot's answer among the lines the owner
    heard in the channel, and how long it took."""
    before = len(m.owner.bot_lines(m.channel))
    sent = m.owner.say(m.channel, command)
    got = await m.owner.wait_reply(m.channel, marker, before, timeout)
    if got is None:
        raise TimeoutError(f"{bot.label}: no answer to {command.split()[0]} in {m.channel}")
    return got[0], got[1].at - sent


def probe_positions(lines: int, every: int) -> set[int]:
    """Every `every`-th line, and the last line of each speaker (so all three end on one)."""
    return {p for p in range(every - 1, lines, every)} | {lines - 3, lines - 2, lines - 1}


async def converse(
    m: Meeting,
    lines: int,
    probes: set[int],
    pace: float = 0.0,
    yield_every: int = 8,
    start: int = 0,
) -> None:
    """Say lines `start` to `start + lines - 1` in turn (line n by speaker n % 3), probes at
    `probes` (`#chair` of the next speaker). With `pace` 0 as fast as the sockets take
    them."""
    for n in range(start, start + lines):
        who = n % 3
        speaker = m.people[who]
        if n in probes:
            at = speaker.say(m.channel, f"#chair {m.people[(who + 1) % 3].nick}")
            m.probes.append((at, n // 3 + 1))  # the speaker's own lines up to this one
        else:
            speaker.say(m.channel, chatter(n, speaker.nick))
        if pace:
            await speaker.drain()
            await asyncio.sleep(pace)
        elif n % yield_every == yield_every - 1:
            await speaker.drain()
            await asyncio.sleep(0)
    for speaker in m.people:
        await speaker.drain()


async def collect_replies(
    bot: Bot, m: Meeting, expected: int, deadline: float, check: bool
) -> bool:
    """Wait until `expected` probes of `m` are answered; with `check`, verify as each
    answer is read that the bot had already committed the lines that must precede it.

    The k-th answer means the bot handled k probes; whichever they were, the latest of
    them came after at least the k-th smallest count of its speaker's own lines (each
    connection is read in order), so that many people's lines must be in the database."""
    lines = m.owner.bot_lines(m.channel)
    scanned = m.mark
    while len(m.replies) < expected:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        seen = scanned
        if not await m.owner.wait_until(lambda seen=seen: len(lines) > seen, left):
            return False
        for heard in lines[scanned:]:
            if bot.chair_marker in heard.text and len(m.replies) < expected:
                m.replies.append(heard.at)
                if check:
                    durable = bot.durable_lines(m.name)
                    bound = sorted(own for _, own in m.probes)[len(m.replies) - 1]
                    m.durable_checked += 1
                    if durable is None or durable < bound:
                        m.durable_violations += 1
        scanned = len(lines)
    return True


_FILE_WAITERS = [0]  # meetings whose files are being waited for, across all end_meeting calls


async def end_meeting(bot: Bot, m: Meeting, deadline: float, poll: float = 0.002) -> bool:
    """#endmeeting; note when the reply came and when every file existed.

    When the files appeared is read from the files themselves (their newest status-change
    time, on this process's clock), so it does not depend on how often the driver looks.
    The driver looks `1 / poll` times a second in all, shared by the meetings still
    waiting: 50 meetings each looking every 2 ms kept one of the two cores busy."""
    lines = m.owner.bot_lines(m.channel)
    before = len(lines)
    m.end_sent = m.owner.say(m.channel, "#endmeeting")
    _FILE_WAITERS[0] += 1
    try:
        while not (m.files_at and m.end_reply):
            if time.monotonic() > deadline:
                return False
            if not m.files_at:
                written = bot.files_written(m.name, m.channel)
                if written is not None:
                    m.files_at = time.perf_counter() - (time.time() - written)
                    _FILE_WAITERS[0] -= 1
            if not m.end_reply:
                for heard in lines[before:]:
                    if bot.end_marker in heard.text:
                        m.end_reply = heard.at
                        break
            await asyncio.sleep(poll * max(1, _FILE_WAITERS[0]))
        return True
    finally:
        if not m.files_at:
            _FILE_WAITERS[0] -= 1


def latencies(meetings: list[Meeting]) -> list[float]:
    return [
        reply - sent
        for m in meetings
        for (sent, _), reply in zip(m.probes, m.replies, strict=False)
    ]


# --- scenario 1: idle ------------------------------------------------------------------------


@dataclass
class IdleSamples:
    start: list[float] = field(default_factory=list)
    chair: list[float] = field(default_factory=list)
    end: list[float] = field(default_factory=list)
    durable: int = 0  # #startmeeting answers that found their meeting committed


async def idle(workdir: Path, make_bot: MakeBot) -> Figures:
    """#startmeeting, #chair and #endmeeting, one at a time, on an otherwise idle bot."""
    channels = [f"#idle-{i:02d}" for i in range(IDLE_CHANNELS)]
    async with stage(workdir, make_bot, channels) as here:
        bot = here.bot
        owners = await here.connect([f"io{i:02d}" for i in range(IDLE_CHANNELS)])
        helpers = await here.connect([f"ih{i:02d}" for i in range(IDLE_CHANNELS)])
        await here.join([(s, c) for s, c in zip(owners + helpers, channels * 2, strict=True)])
        await asyncio.sleep(0.5)
        samples = IdleSamples()
        gc.collect()
        gc.disable()  # no collection pause of the driver inside a measured reply
        try:
            for i in range(IDLE_SAMPLES):
                k = i % IDLE_CHANNELS
                await _idle_sample(bot, owners[k], helpers[k].nick, channels[k], i, samples)
        finally:
            gc.enable()
        figures = {
            "idle.start.p50": ms(percentile(samples.start, 50)),
            "idle.start.p99": ms(percentile(samples.start, 99)),
            "idle.chair.p50": ms(percentile(samples.chair, 50)),
            "idle.chair.p99": ms(percentile(samples.chair, 99)),
            "idle.end.p50": ms(percentile(samples.end, 50)),
            "idle.samples": float(len(samples.start)),
            "idle.rss": bot.rss_mb(),
        }
        if isinstance(bot, Gavel):
            figures["idle.durable"] = float(samples.durable)
        return figures


async def _idle_sample(
    bot: Bot, owner: Speaker, helper: str, channel: str, i: int, samples: IdleSamples
) -> None:
    name = f"idle{i:03d}"
    lines = owner.bot_lines(channel)
    for command, marker, into, count in (
        (f"#startmeeting {name}", bot.start_marker, samples.start, bot.start_lines),
        (f"#chair {helper}", bot.chair_marker, samples.chair, 1),
        ("#endmeeting", bot.end_marker, samples.end, bot.end_lines),
    ):
        before = len(lines)
        sent = owner.say(channel, command)
        got = await owner.wait_reply(channel, marker, before, 30.0)
        if got is None:
            raise TimeoutError(f"{bot.label}: no answer to {command!r} in {channel}")
        into.append(got[1].at - sent)
        if into is samples.start and (bot.durable_lines(name) or 0) >= 1:
            samples.durable += 1
        index = got[0]
        await owner.wait_until(lambda index=index, count=count: len(lines) >= index + count, 10.0)
        await asyncio.sleep(IDLE_GAP)


# --- scenario 2: throughput ----------------------------------------------------------------


async def throughput(workdir: Path, make_bot: MakeBot, count: int) -> Figures:
    """`count` meetings of 500 lines each, sent as fast as the server takes them."""
    prefix = f"tp{count}x"
    channels = [f"#{prefix}-{i:03d}" for i in range(count)]
    async with stage(workdir, make_bot, channels) as here:
        bot = here.bot
        meetings = await make_meetings(here, prefix, count, channels)
        await asyncio.gather(*(set_up(bot, m, 60.0) for m in meetings))
        probes = probe_positions(LINES_PER_MEETING, 50)
        deadline = time.monotonic() + 300.0
        check = isinstance(bot, Gavel)
        cpu0, t0 = bot.cpu_seconds(), time.perf_counter()
        others0 = time.process_time(), here.ircd.cpu_seconds()

        async def run(m: Meeting) -> bool:
            talking = asyncio.create_task(converse(m, LINES_PER_MEETING, probes))
            answered = await collect_replies(bot, m, len(probes), deadline, check)
            await talking
            return answered and await end_meeting(bot, m, deadline)

        done = await asyncio.gather(*(run(m) for m in meetings))
        finished = max((m.files_at for m in meetings), default=t0)
        cpu = bot.cpu_seconds() - cpu0
        driver, server = time.process_time() - others0[0], here.ircd.cpu_seconds() - others0[1]
        lat = latencies(meetings)
        figures = {
            f"tp{count}.rate": count * LINES_PER_MEETING / (finished - t0) if all(done) else 0.0,
            f"tp{count}.probe.p50": ms(percentile(lat, 50)),
            f"tp{count}.probe.p99": ms(percentile(lat, 99)),
            f"tp{count}.cpu": cpu,
            f"tp{count}.peak_rss": bot.peak_rss_mb(),
            f"tp{count}.probes": float(len(lat)),
            f"tp{count}.complete": float(all(done)),
            f"tp{count}.answered_at": max(m.replies[-1] for m in meetings if m.replies) - t0,
            f"tp{count}.files_at": finished - t0,
            f"tp{count}.driver_cpu": driver,
            f"tp{count}.server_cpu": server,
        }
        if check:
            figures[f"tp{count}.durable_checked"] = float(sum(m.durable_checked for m in meetings))
            figures[f"tp{count}.durable_violations"] = float(
                sum(m.durable_violations for m in meetings)
            )
            figures[f"tp{count}.lines_stored"] = float(
                sum(max(bot.durable_lines(m.name) or 0, 0) for m in meetings)
            )
        return figures


# --- scenario 3: one 20,000-line meeting ------------------------------------------------------


async def big_meeting(workdir: Path, make_bot: MakeBot) -> Figures:
    channel = "#big-000"
    async with stage(workdir, make_bot, [channel]) as here:
        bot = here.bot
        (m,) = await make_meetings(here, "big", 1, [channel])
        for speaker in m.people:
            speaker.numerics.clear()
        await set_up(bot, m, 60.0)
        rss_before = bot.rss_mb()
        deadline = time.monotonic() + 300.0
        t0 = time.perf_counter()
        # In two halves, the memory read between them: the first burst of lines raises it
        # once (what a bot holds while it catches up), and the second shows what each
        # recorded line adds.
        half = BIG_MEETING_LINES // 2
        first = probe_positions(half, 2000)
        second = {half + p for p in probe_positions(half, 2000)}
        talking = asyncio.create_task(converse(m, half, first))
        answered = await collect_replies(bot, m, len(first), deadline, check=False)
        await talking
        rss_half = bot.rss_mb()
        m.mark = len(m.owner.bot_lines(m.channel))  # the second half's answers come after
        talking = asyncio.create_task(converse(m, half, second, start=half))
        answered = answered and await collect_replies(
            bot, m, len(first) + len(second), deadline, check=False
        )
        await talking
        ingested = time.perf_counter()
        rss_ingested, peak_ingesting = bot.rss_mb(), bot.peak_rss_mb()
        ended = answered and await end_meeting(bot, m, deadline, poll=0.001)
        return {
            "big.ingest_rate": BIG_MEETING_LINES / (ingested - t0) if answered else 0.0,
            "big.rss_before": rss_before,
            "big.rss_half": rss_half,
            "big.rss_ingested": rss_ingested,
            "big.growth_per_10k": (rss_ingested - rss_half) * 10_000 / (BIG_MEETING_LINES - half),
            "big.growth_first_10k": (rss_half - rss_before) * 10_000 / half,
            "big.peak_ingesting": peak_ingesting,
            "big.end_reply": m.end_reply - m.end_sent if ended else float("nan"),
            "big.end_files": m.files_at - m.end_sent if ended else float("nan"),
            "big.peak_rss": bot.peak_rss_mb(),
            "big.complete": float(ended),
        }


# --- scenario 4: scale -------------------------------------------------------------------------


async def scale(workdir: Path, make_bot: MakeBot) -> Figures:
    """500 channels joined, 50 meetings running, a steady 500 lines/s between them."""
    channels = [f"#sc-{i:03d}" for i in range(SCALE_CHANNELS)]
    async with stage(workdir, make_bot, channels) as here:
        bot = here.bot
        joined = here.join_seconds
        rss_joined = bot.rss_mb()
        busy = channels[:: SCALE_CHANNELS // SCALE_MEETINGS][:SCALE_MEETINGS]
        meetings = await make_meetings(here, "sc", SCALE_MEETINGS, busy)
        await asyncio.gather(*(set_up(bot, m, 60.0) for m in meetings))
        deadline = time.monotonic() + 120.0
        cpu0 = bot.cpu_seconds()

        async def run(m: Meeting, delay: float) -> bool:
            await asyncio.sleep(delay)  # spread the meetings' lines evenly in time
            probes = probe_positions(100, 25)
            talking = asyncio.create_task(converse(m, 100, probes, pace=0.1))
            answered = await collect_replies(bot, m, len(probes), deadline, check=False)
            await talking
            return answered

        spread = [0.1 * k / len(meetings) for k in range(len(meetings))]
        done = await asyncio.gather(*(run(m, d) for m, d in zip(meetings, spread, strict=True)))
        lat = latencies(meetings)
        starts = [m.start_latency for m in meetings]
        return {
            "scale.join_seconds": joined,
            "scale.rss_joined": rss_joined,
            "scale.rss": bot.rss_mb(),
            "scale.peak_rss": bot.peak_rss_mb(),
            "scale.start.p99": ms(percentile(starts, 99)),
            "scale.probe.p50": ms(percentile(lat, 50)),
            "scale.probe.p99": ms(percentile(lat, 99)),
            "scale.cpu": bot.cpu_seconds() - cpu0,
            "scale.complete": float(all(done)),
        }


# --- scenario 5: default flood settings ----------------------------------------------------


FLOOD_ROUNDS = 2
FLOOD_NOISE = (2, 4, 4)  # reply-triggering commands per round from each busy-channel chair


async def flood(workdir: Path, make_bot: MakeBot) -> Figures:
    """Both bots with their default send pacing. One channel asks for ten replies at once;
    at the same moment each of the nine others asks for one. How long do the nine wait?"""
    channels = [f"#fl-{i:03d}" for i in range(FLOOD_MEETINGS)]
    async with stage(workdir, make_bot, channels) as here:
        bot = here.bot
        meetings = await make_meetings(here, "fl", FLOOD_MEETINGS, channels)
        busy, quiet = meetings[0], meetings[1:]
        # Set-up replies trickle out at the default pace; wait for all of them.
        await asyncio.gather(set_up(bot, busy, 180.0), *(start_only(bot, m, 180.0) for m in quiet))
        waits: list[float] = []
        busy_clear: list[float] = []
        for _ in range(FLOOD_ROUNDS):
            await asyncio.sleep(5.0)  # both bots' pacing back to rest (Gavel: full bucket)
            before_busy = len(busy.owner.bot_lines(busy.channel))
            sent_at = time.perf_counter()
            for who, times in enumerate(FLOOD_NOISE):
                for _ in range(times):
                    busy.people[who].say(busy.channel, f"#chair {busy.people[who].nick}")
            asked = []
            for m in quiet:
                before = len(m.owner.bot_lines(m.channel))
                asked.append((m, before, m.owner.say(m.channel, f"#chair {m.people[1].nick}")))
            for speaker in (*busy.people, *(m.owner for m in quiet)):
                await speaker.drain()
            for m, before, sent in asked:
                got = await m.owner.wait_reply(m.channel, bot.chair_marker, before, 120.0)
                waits.append(got[1].at - sent if got else float("inf"))
            lines = busy.owner.bot_lines(busy.channel)
            await busy.owner.wait_until(
                partial(_answered, lines, before_busy, bot.chair_marker, sum(FLOOD_NOISE)), 120.0
            )
            chair_lines = [h for h in lines[before_busy:] if bot.chair_marker in h.text]
            busy_clear.append(chair_lines[-1].at - sent_at if chair_lines else float("inf"))
        return {
            "flood.quiet.p50": ms(percentile(waits, 50)),
            "flood.quiet.p99": ms(percentile(waits, 99)),
            "flood.busy.clear": ms(max(busy_clear)),
            "flood.samples": float(len(waits)),
        }


def _answered(lines: list[Heard], start: int, marker: str, count: int) -> bool:
    return sum(marker in h.text for h in lines[start:]) >= count


async def start_only(bot: Bot, m: Meeting, timeout: float) -> None:
    """#startmeeting, its latency kept, and wait for the whole of its answer."""
    lines = m.owner.bot_lines(m.channel)
    at, m.start_latency = await _ask(bot, m, f"#startmeeting {m.name}", bot.start_marker, timeout)
    await m.owner.wait_until(lambda: len(lines) >= at + bot.start_lines, timeout)


def gavel(default_flood: bool) -> MakeBot:
    return lambda workdir, port, channels: Gavel(
        workdir, port, channels, default_flood=default_flood
    )


def peer(default_flood: bool) -> MakeBot:
    return lambda workdir, port, channels: Peer(
        workdir, port, channels, default_flood=default_flood
    )


def reference(fsync: bool) -> MakeBot:
    """The floor (`fsync`) or the ceiling reference bot (`bench/compare/reference.py`)."""
    return lambda workdir, port, channels: Reference(workdir, port, channels, fsync=fsync)
