"""Shared harness of scenarios 1–5: a real ngircd, the real bot, talkers and an observer.

- `Stage`: ngircd on a free loopback port, the observer, a chair (`alice`) and a few
  talkers joined to one channel, and the bot (`tests.botproc.BotProcess`), optionally
  connecting through something else (a fault proxy) instead of the server itself.
- Waiting for the bot: `joined` (its JOIN as the observer saw it), `acknowledged` (the
  chair's `#chair` answered: the meeting is running and the bot records and replies).
- The bot's JSON log: `log_events` reads the structlog records (event, timestamp).
- `line_figures`: the accounting of the talkers' lines against the database, as figures.

Every wait is bounded; the only processes stopped are those started here, by pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.reliability import Figure
from tests.botproc import BotProcess
from tests.ircserver import Ngircd, RawClient
from tests.talkers import (
    Accounting,
    Observer,
    Talkers,
    account,
    integrity,
    join_client,
    key,
    meeting_ids,
    recorded_from_db,
    talker_line,
)

CHANNEL = "#reliability"
BOT = "meetbot"
BOT_NICKS = (BOT, BOT + "_", BOT + "__", BOT + "___")
CHAIR = "alice"
# Reconnect and watchdog delays for the scenarios (the production defaults are 10 s to
# the first retry and 60/120 s of silence): the scenarios measure the same mechanisms,
# only sooner. Documented keys of `[[networks]]`.
FAST_TIMING = """reconnect_first_delay = 0.5
reconnect_max_delay = 2.0
ping_after = 1.5
dead_after = 3.0
"""
# The line checks every meeting scenario must pass (names as `line_figures` reports them).
LINE_CHECKS = (
    "lines missing, not covered by a recorded gap",
    "duplicate lines",
    "lines out of order",
)

TIMING_NOTE = (
    "bot delays: reconnect_first_delay 0.5 s, reconnect_max_delay 2 s, ping_after 1.5 s, "
    "dead_after 3 s (production defaults: 10 s, 300 s, 60 s, 120 s)"
)


def bot_says(text: str) -> re.Pattern[str]:
    nicks = "|".join(re.escape(n) for n in BOT_NICKS)
    return re.compile(rf"^:(?:{nicks})!\S+ PRIVMSG {re.escape(CHANNEL)} :{re.escape(text)}")


def is_bot(nick: str) -> bool:
    return nick.lower() in BOT_NICKS


@dataclass
class Stage:
    workdir: Path
    ircd: Ngircd
    observer: Observer
    chair: RawClient
    talkers: Talkers
    bot: BotProcess

    # -- the bot as the channel sees it ---------------------------------------------

    async def joined(self, timeout: float, since: int | None = None) -> float | None:
        """Monotonic time of the bot's next JOIN seen after `since` (an index into
        `observer.seen`), or None after `timeout`."""
        start = len(self.observer.seen) if since is None else since
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for seen in self.observer.seen[start:]:
                if seen.kind == "join" and is_bot(seen.nick):
                    return seen.at
            await asyncio.sleep(0.01)
        return None

    async def acknowledged(self, timeout: float = 10.0) -> bool:
        """The chair asks `#chair`; True when the bot answers with alice as chair."""
        mark = len(self.observer.seen)
        with contextlib.suppress(ConnectionError, OSError):
            await self.chair.say(CHANNEL, "#chair")
        found = await self.observer.wait_seen(
            lambda s: s.kind == "msg" and is_bot(s.nick) and s.text.startswith("Current chairs"),
            timeout,
            since=mark,
        )
        return found is not None and CHAIR in found.text.split()

    async def answering(self, timeout: float) -> bool:
        """Ask `#chair` until the bot answers (it is back and recording), bounded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.acknowledged(min(2.0, max(0.1, deadline - time.monotonic()))):
                return True
        return False

    async def recording_again(self, after: float, timeout: float) -> float | None:
        """Monotonic time by which a talker's line said after `after` (monotonic) was in the
        database — the bot is back and recording — or None after `timeout`. Asks nothing
        of the bot (a chair's repeated `#chair` would meet its per-person reply limit)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            texts = [s.text for s in self.talkers.said if s.at > after][:200]
            if texts and self._any_recorded(texts):
                return time.monotonic()
            await asyncio.sleep(0.05)
        return None

    def _any_recorded(self, texts: list[str]) -> bool:
        marks = ",".join("?" * len(texts))
        with contextlib.closing(sqlite3.connect(self.bot.database, timeout=5.0)) as db:
            row = db.execute(f"SELECT 1 FROM lines WHERE text IN ({marks}) LIMIT 1", texts)
            return row.fetchone() is not None

    async def start_meeting(self, name: str = "reliability", timeout: float = 20.0) -> bool:
        if await self.joined(timeout, since=0) is None:
            return False
        await self.chair.say(CHANNEL, f"#startmeeting {name}")
        found = await self.observer.wait_seen(
            lambda s: is_bot(s.nick) and s.text.startswith("The meeting name has been set"),
            timeout,
            since=0,
        )
        return found is not None

    async def end_meeting(self, timeout: float = 30.0) -> bool:
        mark = len(self.observer.seen)
        await self.chair.say(CHANNEL, "#endmeeting")
        found = await self.observer.wait_seen(
            lambda s: is_bot(s.nick) and s.text.startswith("Log:"), timeout, since=mark
        )
        return found is not None

    async def reconnect_people(self, timeout: float = 10.0) -> None:
        """After a server restart: the observer and the chair back in the channel (talkers
        come back by themselves, `Talkers.talk(reconnect=True)`)."""
        await self.observer.connect(timeout)
        if self.chair.closed:
            await self.chair.close()
            self.chair = await _join(self.ircd, CHAIR, timeout)

    # -- afterwards -----------------------------------------------------------------

    def accounting(self) -> tuple[Accounting, int]:
        """The talkers' lines: what the observer saw against the (only) meeting's lines.
        Also returns the number of meetings in the database."""
        ids = meeting_ids(self.bot.database)
        if not ids:
            return account(self.observer.messages(BOT_NICKS), [], only=talker_line), 0
        recorded, gaps = recorded_from_db(self.bot.database, ids[0])
        observed = self.observer.messages(BOT_NICKS)
        return account(observed, recorded, gaps, only=talker_line), len(ids)

    def seen_while_present(self, keys: Iterable[str]) -> int:
        """How many of `keys` the observer saw while it counted the bot as joined."""
        when = {key(s.nick, s.text): s.at for s in self.observer.seen if s.kind == "msg"}
        intervals = self.observer.presence(BOT_NICKS)
        count = 0
        for k in keys:
            at = when.get(k)
            if at is not None and any(a <= at and (b is None or at <= b) for a, b in intervals):
                count += 1
        return count

    def recorded_count(self, like: str) -> int:
        """Recorded lines (any meeting) whose text matches the SQL pattern `like`."""
        with contextlib.closing(sqlite3.connect(self.bot.database)) as db:
            row = db.execute("SELECT COUNT(*) FROM lines WHERE text LIKE ?", (like,)).fetchone()
        return int(row[0])

    def gaps(self) -> int:
        ids = meeting_ids(self.bot.database)
        return len(recorded_from_db(self.bot.database, ids[0])[1]) if ids else 0

    def integrity(self) -> str:
        return integrity(self.bot.database)


async def _join(ircd: Ngircd, nick: str, timeout: float) -> RawClient:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await join_client(RawClient, ircd.host, ircd.port, nick, CHANNEL)
        except (OSError, TimeoutError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


@contextlib.contextmanager
def workspace(name: str) -> Iterator[Path]:
    """A temporary directory for one run; kept under $GAVEL_RELIABILITY_KEEP/name when that
    variable is set (to read the bot's log and database after a failure)."""
    keep = os.environ.get("GAVEL_RELIABILITY_KEEP")
    if keep:
        path = Path(keep) / f"{name}-{datetime.now().strftime('%H%M%S')}"
        path.mkdir(parents=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=f"gavel-{name}-") as tmp:
        yield Path(tmp)


@contextlib.asynccontextmanager
async def stage(
    workdir: Path,
    *,
    talkers: int = 3,
    bot_port: int | None = None,
    extra_network: str = FAST_TIMING,
    ircd_port: int | None = None,
    padding: int = 0,
) -> AsyncIterator[Stage]:
    """Everything started, the bot not yet (`stage.bot.start()`); all stopped after."""
    ircd = Ngircd(workdir / "ngircd", ircd_port)
    ircd.start()
    observer = Observer(ircd.host, ircd.port, CHANNEL)
    people = Talkers(ircd.host, ircd.port, CHANNEL, talkers, padding=padding)
    bot = BotProcess(
        workdir / "bot", ircd.port, channels=[CHANNEL], nick=BOT, extra_network=extra_network
    )
    chair: RawClient | None = None
    try:
        chair = await _join(ircd, CHAIR, 10.0)  # first in: the channel's operator
        await observer.connect()
        await people.connect()
        if bot_port is not None:
            bot.port = bot_port
        yield Stage(workdir, ircd, observer, chair, people, bot)
    finally:
        bot.stop()
        await people.close()
        if chair is not None:
            await chair.close()
        await observer.close()
        ircd.stop()


# -- the bot's log -----------------------------------------------------------------------


def log_events(bot: BotProcess, *names: str, offset: int = 0) -> list[dict[str, Any]]:
    """The bot's JSON log records (from byte `offset`) whose event is one of `names`."""
    found = []
    try:
        with bot.log.open("rb") as stream:
            stream.seek(offset)
            data = stream.read()
    except OSError:
        return []
    for raw in data.splitlines():
        if not raw.startswith(b"{"):
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if not names or record.get("event") in names:
            found.append(record)
    return found


def log_size(bot: BotProcess) -> int:
    try:
        return bot.log.stat().st_size
    except OSError:
        return 0


def log_time(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(record["timestamp"]).replace("Z", "+00:00"))


# -- figures -----------------------------------------------------------------------------


def spread(values: Iterable[float]) -> str:
    """`median / max` in seconds, or `-` without values."""
    got = sorted(values)
    if not got:
        return "-"
    return f"{statistics.median(got):.2f} / {got[-1]:.2f}"


def line_figures(acc: Accounting) -> dict[str, Figure]:
    return {
        "lines seen by the observer": acc.observed,
        "lines missing, not covered by a recorded gap": len(acc.silently_lost),
        "lines missing inside a recorded gap": len(acc.in_gaps),
        "duplicate lines": len(acc.duplicates),
        "lines out of order": acc.out_of_order,
    }
