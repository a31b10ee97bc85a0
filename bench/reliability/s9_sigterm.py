"""Scenario 9 — SIGTERM in the middle of a meeting, again and again.

The real bot on ngircd records a meeting (a chair added, a vote open, items). Each cycle,
alice says a burst of lines and bob chats on in the background; the bot gets SIGTERM
while they talk, must exit with status 0 within 5 s, and is started again; the meeting
must go on without a new `#startmeeting` (alice's `#chair` shows the chairs intact), and
bob's `#info` and `#vote` land in it. After the last cycle alice ends the meeting.

Measured: exit code and seconds from SIGTERM to exit, per cycle; in the final
`.log.txt`, every line said while the bot was in the channel (alice's bursts, and bob's
lines sent at least `MARGIN` s before the signal), each exactly once; one
`#startmeeting` and one meeting written; one gap per restart; chairs, items and the vote
as they were made.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.reliability import Profile, Result
from bench.reliability._abuse import Bot, until
from tests.ircserver import Ngircd, RawClient

TITLE = "SIGTERM mid-meeting, repeatedly: exit < 5 s, meeting intact on restart"

CHANNEL = "#openstack-meeting"
BURST = 15  # lines alice says right before each SIGTERM
CHAT_EVERY = 0.03  # bob's background chatter
MARGIN = 0.2  # bob's lines sent this long before SIGTERM must be in the log


def _bot(text: str, kind: str = "PRIVMSG") -> re.Pattern[str]:
    if kind == "PRIVMSG":
        return re.compile(rf"^:meetbot!\S+ PRIVMSG {CHANNEL} :{re.escape(text)}")
    return re.compile(rf"^:meetbot!\S+ {kind}\b")


@dataclass
class Cycles:
    done: int = 0
    exit_codes: list[int | None] = field(default_factory=list)
    exit_seconds: list[float] = field(default_factory=list)
    required: list[str] = field(default_factory=list)  # alice's lines + bob's in time
    maybe: list[str] = field(default_factory=list)  # bob's lines near or after SIGTERM
    chairs_lost: int = 0
    notes: list[str] = field(default_factory=list)


async def _chatter(bob: RawClient, cycle: int, said: list[tuple[str, float]]) -> None:
    for n in range(10_000):  # bounded; cancelled after the bot has quit
        text = f"bob chats {cycle}.{n}"
        said.append((text, time.monotonic()))
        await bob.say(CHANNEL, text)
        await asyncio.sleep(CHAT_EVERY)


async def _one_cycle(
    cycle: int, bot: Bot, alice: RawClient, bob: RawClient, watcher: RawClient, c: Cycles
) -> None:
    bot.start()
    await watcher.expect(_bot("", "JOIN"), 20)
    if cycle == 0:  # most replies are still queued when the first SIGTERM comes
        await alice.say(CHANNEL, "#startmeeting sigterm")
        await alice.say(CHANNEL, "#chair bob")
        await alice.say(CHANNEL, "#startvote Keep going? yes, no")
        # bob speaks on another connection: only once the meeting has started is what
        # he says sure to come after alice's lines
        await watcher.expect(_bot("Meeting started"), 10)
        c.required += ["<alice> #startmeeting sigterm", "<alice> #chair bob"]
        c.required.append("<alice> #startvote Keep going? yes, no")
    else:  # still the same meeting, chairs intact, with no new #startmeeting
        await alice.say(CHANNEL, "#chair")
        c.required.append("<alice> #chair")
        try:
            await watcher.expect(_bot("Current chairs: alice bob"), 10)
        except TimeoutError:
            c.chairs_lost += 1
    await bob.say(CHANNEL, f"#info cycle {cycle}")
    c.required.append(f"<bob> #info cycle {cycle}")
    said: list[tuple[str, float]] = []
    chatter = asyncio.create_task(_chatter(bob, cycle, said))
    try:
        await asyncio.sleep(0.4)  # bob is mid-sentence when alice's burst comes
        for n in range(BURST):
            text = f"alice says {cycle}.{n}"
            await alice.say(CHANNEL, text)
            c.required.append(f"<alice> {text}")
        await alice.say(CHANNEL, "#chair")  # a reply queued as the signal comes
        c.required.append("<alice> #chair")
        await asyncio.sleep(0.05)
        signalled = time.monotonic()
        code, seconds = await bot.stop_by_sigterm()
        c.exit_codes.append(code)
        c.exit_seconds.append(seconds)
        await watcher.expect(_bot("", "QUIT"), 5)
    finally:
        chatter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await chatter
    for text, at in said:
        (c.required if at <= signalled - MARGIN else c.maybe).append(f"<bob> {text}")
    await alice.say(CHANNEL, f"said while the bot is away {cycle}")
    c.done += 1


async def cycles(workdir: Path, count: int, c: Cycles) -> Path:
    ircd = Ngircd(workdir / "ngircd")
    ircd.start()
    # The default pace (1 line/s after a burst of 4), so replies are often still queued
    # when SIGTERM comes: the bot must flush what it can and still exit in time.
    bot = Bot(workdir / "bot", ircd.port, channels=[CHANNEL], rate=1.0)
    people: list[RawClient] = []
    try:
        for nick in ("alice", "bob", "watcher"):
            client = await RawClient.connect(ircd.host, ircd.port, nick)
            await client.join(CHANNEL)
            people.append(client)
        alice, bob, watcher = people
        for cycle in range(count):
            await _one_cycle(cycle, bot, alice, bob, watcher, c)
        bot.start()
        await watcher.expect(_bot("", "JOIN"), 20)
        await bob.say(CHANNEL, "#vote yes")
        await alice.say(CHANNEL, "#endmeeting")
        # A start-up may rewrite the still-running meeting's files first: wait for the
        # record that says the meeting ended, not merely for a record.
        await until(lambda: _ended_record(bot.meetings), 15)
        await asyncio.sleep(0.3)  # the five files land together
    finally:
        bot.stop()
        for client in people:
            await client.close()
        ircd.stop()
    return bot.meetings


def _ended_record(meetings: Path) -> bool:
    for path in meetings.rglob("*.json"):
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text(encoding="utf-8")).get("end") is not None:
                return True
    return False


@dataclass
class Written:
    meetings: int = 0
    startmeetings: int = 0
    missing: int = 0
    duplicated: int = 0
    gaps: int = 0
    record_faults: int = 0


def inspect(meetings: Path, c: Cycles, count: int) -> Written:
    w = Written()
    records = list(meetings.rglob("*.json"))
    w.meetings = len(records)
    if not records:
        return w
    log = records[0].with_name(records[0].name[: -len(".json")] + ".log.txt")
    seen = Counter(line[9:] for line in log.read_text(encoding="utf-8").splitlines())
    w.startmeetings = sum(n for text, n in seen.items() if "#startmeeting" in text)
    w.missing = sum(1 for line in c.required if seen[line] == 0)
    said = Counter([*c.required, *c.maybe])
    w.duplicated = sum(seen[line] - times for line, times in said.items() if seen[line] > times)
    record = json.loads(records[0].read_text(encoding="utf-8"))
    w.gaps = len(record["gaps"])
    chairs = [chair["nick"] for chair in record["chairs"]]
    infos = [i["text"] for i in record["items"] if i["kind"] == "info"]
    votes = record["votes"]
    w.record_faults = sum(
        [
            chairs != ["alice", "bob"],
            infos != [f"cycle {n}" for n in range(count)],
            len(votes) != 1 or [b["nick"] for b in votes[0]["ballots"]] != ["bob"],
            record["end"] is None,
        ]
    )
    return w


async def run(profile: Profile) -> Result:
    result = Result(
        TITLE,
        must_be_zero=(
            "nonzero_exits",
            "lines_missing",
            "lines_duplicated",
            "new_startmeetings",
            "chairs_lost",
            "record_faults",
        ),
        must_be_true=("completed", "exit_under_5s", "one_meeting", "gap_per_restart"),
    )
    count = profile.pick(3, 20)
    c = Cycles()
    started = time.monotonic()
    written = Written()
    completed = True
    with tempfile.TemporaryDirectory(prefix="gavel-s9-") as tmp:
        try:
            meetings = await asyncio.wait_for(cycles(Path(tmp), count, c), 30 + 15 * count)
            written = inspect(meetings, c, count)
        except Exception as exc:
            completed = False
            result.notes.append(f"did not complete: {exc!r}")
            result.notes.append(traceback.format_exc(limit=3))
    result.figures.update(
        {
            "sigterms": len(c.exit_codes),
            "nonzero_exits": sum(code != 0 for code in c.exit_codes),
            "exit_max_s": round(max(c.exit_seconds, default=0.0), 2),
            "exit_mean_s": round(sum(c.exit_seconds) / max(len(c.exit_seconds), 1), 2),
            "exit_under_5s": bool(c.exit_seconds) and max(c.exit_seconds) < 5.0,
            "lines_required": len(c.required),
            "lines_missing": written.missing,
            "lines_duplicated": written.duplicated,
            "new_startmeetings": max(0, written.startmeetings - 1),
            "one_meeting": written.meetings == 1,
            "gap_per_restart": written.gaps == count,
            "chairs_lost": c.chairs_lost,
            "record_faults": written.record_faults,
            "completed": completed and c.done == count,
            "seconds": round(time.monotonic() - started, 1),
        }
    )
    return result
