"""People for reliability scenarios: talkers that say numbered lines, an observer that
records what the channel saw, and the accounting of those lines against the minutes.

- `Talkers`: a few real client connections (`t0`, `t1`, ...) saying `t3 line 0042` in turn,
  reconnecting (bounded) when the server goes away; every line is unique, so it can be
  found again in the minutes.
- `Observer`: one client that records, with times, every message, join, part, quit, kick
  and nick change in the channel, in the server's order, across reconnects.
- `account()`: compares the lines the observer saw with the lines the bot recorded (read
  from the database, or a `.log.txt`), counting duplicates, lines out of order, and lines
  missing from the minutes — split into those the minutes declare (a recorded gap lies
  between the recorded lines around them) and those lost silently (no gap: must be 0).

Every wait is bounded in time and every loop in count.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.ircserver import Match, RawClient

LINE_RE = re.compile(r"^(t\d+) line (\d{4,})(?: .*)?$")
_PREFIX = re.compile(r"^:([^!\s]+)(?:!\S+)? (\S+) ?(.*)$")


def line_text(talker: str, number: int, padding: int = 0) -> str:
    """`t3 line 0042`, followed by `padding` more characters when asked (bigger files)."""
    text = f"{talker} line {number:04d}"
    return f"{text} {'x' * (padding - 1)}" if padding > 0 else text


def line_number(text: str) -> int | None:
    """The number of a talker's line (`t3 line 0042 ...` -> 42), None for any other text."""
    match = LINE_RE.match(text)
    return int(match.group(2)) if match else None


def key(nick: str, text: str) -> str:
    """How a line is compared: `<nick> text`, as in the `.log.txt`."""
    return f"<{nick}> {text}"


# -- the observer ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """One thing the channel saw: `kind` is msg, join, part, quit, kick or nick."""

    at: float  # time.monotonic()
    kind: str
    nick: str
    text: str = ""  # msg: the text; kick: the nick kicked; nick: the new nick


def parse_channel_line(line: str, channel: str) -> Seen | None:
    """The `Seen` of one raw server line, if it is about `channel` (or a QUIT/NICK)."""
    match = _PREFIX.match(line)
    if match is None:
        return None
    nick, command, rest = match.groups()
    command = command.upper()
    now = time.monotonic()
    if rest.startswith(":"):  # a lone trailing parameter: `JOIN :#chan`, `QUIT :bye`
        target, trailing = rest[1:], rest[1:]
    else:
        target, _, trailing = rest.partition(" :")
    target = target.strip()
    if command == "PRIVMSG" and target.lower() == channel.lower():
        return Seen(now, "msg", nick, trailing)
    if command == "JOIN" and target.split(" ")[0].lower() == channel.lower():
        return Seen(now, "join", nick)
    if command == "PART" and target.split(" ")[0].lower() == channel.lower():
        return Seen(now, "part", nick, trailing)
    if command == "KICK" and target.split(" ")[0].lower() == channel.lower():
        parts = target.split(" ")
        return Seen(now, "kick", nick, parts[1] if len(parts) > 1 else "")
    if command == "QUIT":
        return Seen(now, "quit", nick, trailing)
    if command == "NICK":
        return Seen(now, "nick", nick, target.split(" ")[0])
    return None


class _Recording(RawClient):
    """A raw client that hands every line to a callback as it arrives."""

    sink: Callable[[str], None] | None = None

    def on_line(self, line: str) -> None:
        super().on_line(line)
        if self.sink is not None:
            self.sink(line)


async def join_client(
    kind: type[RawClient],
    host: str,
    port: int,
    nick: str,
    channel: str,
    sink: Callable[[str], None] | None = None,
) -> RawClient:
    """A client registered and joined to `channel`; closed again if that fails."""
    client = await kind.connect(host, port, nick, 5.0)
    if isinstance(client, _Recording):
        client.sink = sink
    try:
        await client.join(channel, 5.0)
    except BaseException:
        await client.close()
        raise
    return client


class Observer:
    """Watches one channel and keeps what it saw, across reconnects."""

    def __init__(self, host: str, port: int, channel: str, nick: str = "observer") -> None:
        self.host = host
        self.port = port
        self.channel = channel
        self.nick = nick
        self.seen: list[Seen] = []
        self.client: RawClient | None = None
        self.connects = 0

    def _record(self, line: str) -> None:
        seen = parse_channel_line(line, self.channel)
        if seen is not None:
            self.seen.append(seen)

    async def connect(self, timeout: float = 10.0) -> None:
        """Connect and join, retrying until `timeout` (the server may be restarting)."""
        deadline = time.monotonic() + timeout
        await self.close()
        while True:
            try:
                self.client = await join_client(
                    _Recording, self.host, self.port, self.nick, self.channel, self._record
                )
                self.connects += 1
                return
            except (OSError, TimeoutError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    @property
    def connected(self) -> bool:
        return self.client is not None and not self.client.closed

    async def expect(self, match: Match, timeout: float) -> str:
        """The next raw line matching `match` (see `RawClient.expect`)."""
        assert self.client is not None
        return await self.client.expect(match, timeout)

    async def wait_seen(
        self, predicate: Callable[[Seen], bool], timeout: float, since: int | None = None
    ) -> Seen | None:
        """The first `Seen` after index `since` (default: from now on) that satisfies
        `predicate`, or None after `timeout`."""
        start = len(self.seen) if since is None else since
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in self.seen[start:]:
                if predicate(item):
                    return item
            start = len(self.seen)
            await asyncio.sleep(0.01)
        return None

    def messages(self, exclude: Iterable[str] = ()) -> list[str]:
        """Keys of every channel message seen, in order, without those of `exclude` nicks."""
        skip = {n.lower() for n in exclude}
        return [
            key(s.nick, s.text) for s in self.seen if s.kind == "msg" and s.nick.lower() not in skip
        ]

    def presence(self, nicks: Iterable[str]) -> list[tuple[float, float | None]]:
        """Intervals (monotonic) during which one of `nicks` was in the channel, as seen."""
        watched = {n.lower() for n in nicks}
        intervals: list[tuple[float, float | None]] = []
        inside: float | None = None
        for s in self.seen:
            if s.kind == "join" and s.nick.lower() in watched and inside is None:
                inside = s.at
            elif inside is not None and (
                (s.kind in ("part", "quit") and s.nick.lower() in watched)
                or (s.kind == "kick" and s.text.lower() in watched)
            ):
                intervals.append((inside, s.at))
                inside = None
        if inside is not None:
            intervals.append((inside, None))
        return intervals

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.close()


# -- the talkers -------------------------------------------------------------------------


@dataclass(slots=True)
class Said:
    number: int
    nick: str
    text: str
    at: float


class Talkers:
    """`count` clients saying numbered lines in turn."""

    def __init__(
        self,
        host: str,
        port: int,
        channel: str,
        count: int = 3,
        prefix: str = "t",
        padding: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.channel = channel
        self.nicks = [f"{prefix}{i}" for i in range(count)]
        self.clients: dict[str, RawClient] = {}
        self.said: list[Said] = []
        self.unsent = 0  # lines skipped because the talker had no connection
        self.next_number = 0
        self.padding = padding

    async def connect(self, timeout: float = 10.0) -> None:
        for nick in self.nicks:
            await self._connect(nick, timeout)

    async def _connect(self, nick: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        old = self.clients.pop(nick, None)
        if old is not None:
            await old.close()
        while True:
            try:
                self.clients[nick] = await join_client(
                    RawClient, self.host, self.port, nick, self.channel
                )
                return True
            except (OSError, TimeoutError, ConnectionError):
                if time.monotonic() > deadline:
                    return False
                await asyncio.sleep(0.1)

    async def reconnect_lost(self, timeout: float = 10.0) -> None:
        """Reconnect every talker whose connection closed (bounded by `timeout` each)."""
        for nick in self.nicks:
            client = self.clients.get(nick)
            if client is None or client.closed:
                await self._connect(nick, timeout)

    async def say_next(self) -> Said | None:
        """Say the next numbered line; None (and counted as unsent) without a connection."""
        number = self.next_number
        self.next_number += 1
        nick = self.nicks[number % len(self.nicks)]
        client = self.clients.get(nick)
        text = line_text(nick, number, self.padding)
        if client is None or client.closed:
            self.unsent += 1
            return None
        try:
            await client.say(self.channel, text)
        except (ConnectionError, OSError):
            self.unsent += 1
            return None
        said = Said(number, nick, text, time.monotonic())
        self.said.append(said)
        return said

    async def talk(
        self,
        lines: int,
        rate: float,
        timeout: float,
        *,
        stop: asyncio.Event | None = None,
        reconnect: bool = False,
    ) -> int:
        """Say up to `lines` lines at `rate` per second, until `timeout` or `stop` is set;
        with `reconnect`, a talker whose connection closed tries once to come back before
        each of its lines. Returns the number of lines said."""
        deadline = time.monotonic() + timeout
        interval = 1.0 / rate if rate > 0 else 0.0
        said = 0
        next_at = time.monotonic()
        for _ in range(lines):
            if time.monotonic() > deadline or (stop is not None and stop.is_set()):
                break
            if reconnect:
                nick = self.nicks[self.next_number % len(self.nicks)]
                client = self.clients.get(nick)
                if client is None or client.closed:
                    await self._connect(nick, 0.0)
            if await self.say_next() is not None:
                said += 1
            next_at = max(next_at + interval, time.monotonic() - 1.0)  # no long catch-up burst
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        return said

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()
        self.clients.clear()


# -- what the bot recorded ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recorded:
    """One recorded line: its key and (from the database) its stored UTC time text."""

    key: str
    time: str | None = None


@dataclass(frozen=True, slots=True)
class GapSpan:
    start: str  # stored UTC time text (fixed width, so text order is time order)
    end: str
    reason: str = ""


def meeting_ids(database: Path) -> list[int]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return [int(row[0]) for row in db.execute("SELECT id FROM meetings ORDER BY id")]


def recorded_from_db(database: Path, meeting_id: int) -> tuple[list[Recorded], list[GapSpan]]:
    """The meeting's lines in log order and its gaps, read from the database."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        lines = [
            Recorded(key(nick, text), when)
            for nick, text, when in db.execute(
                "SELECT nick, text, time FROM lines WHERE meeting_id = ? ORDER BY n", (meeting_id,)
            )
        ]
        gaps = [
            GapSpan(start, end, reason)
            for start, end, reason in db.execute(
                "SELECT started_at, ended_at, reason FROM gaps WHERE meeting_id = ? "
                "ORDER BY started_at",
                (meeting_id,),
            )
        ]
    return lines, gaps


_LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (<[^>]+> .*)$")


def recorded_from_log(path: Path) -> list[Recorded]:
    """The messages of a `.log.txt`, in order (no times: gaps cannot be placed)."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _LOG_LINE.match(line)
        if match:
            found.append(Recorded(match.group(1)))
    return found


def integrity(database: Path) -> str:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return "\n".join(str(row[0]) for row in db.execute("PRAGMA integrity_check"))


# -- the accounting ----------------------------------------------------------------------


@dataclass(slots=True)
class Accounting:
    """Lines the observer saw, compared with the lines recorded."""

    observed: int = 0
    recorded: int = 0
    missing: list[str] = field(default_factory=list)
    in_gaps: list[str] = field(default_factory=list)  # missing, but a recorded gap covers them
    silently_lost: list[str] = field(default_factory=list)  # missing with no gap: must be none
    duplicates: list[str] = field(default_factory=list)
    out_of_order: int = 0
    unobserved: int = 0  # recorded lines the observer did not see (it was away)

    def numbers(self, keys: Sequence[str]) -> list[int]:
        return [n for k in keys if (n := line_number(k.partition("> ")[2])) is not None]


def account(
    observed: Sequence[str],
    recorded: Sequence[Recorded],
    gaps: Sequence[GapSpan] = (),
    *,
    only: Callable[[str], bool] = lambda k: True,
) -> Accounting:
    """Compare what the channel saw (`observed`, keys in the server's order) with what was
    recorded (in log order), for the keys `only` accepts.

    A missing line lies between two consecutive recorded lines A and B (in the observer's
    order). It is declared when a recorded gap starts between A's and B's times (the bot said
    it was not recording then), and silently lost otherwise. Without times (a `.log.txt`)
    every missing line between recorded ones counts as silently lost."""
    result = Accounting(
        observed=sum(1 for k in observed if only(k)),
        recorded=sum(1 for r in recorded if only(r.key)),
    )
    counts_all = Counter(r.key for r in recorded)
    counts = Counter(r.key for r in recorded if only(r.key))
    result.duplicates = sorted(k for k, c in counts.items() if c > 1)
    # Only lines said once can anchor a position (`#chair` may be said many times).
    once = {k for k, c in Counter(observed).items() if c == 1}
    position = {k: i for i, k in enumerate(observed) if k in once}
    have = set(counts)
    result.missing = [k for k in observed if only(k) and k not in have]
    observed_keys = set(observed)
    result.unobserved = sum(1 for k in have if k not in observed_keys)
    anchors: list[tuple[int, str | None]] = []  # (observed position, time), in log order
    seen_keys: set[str] = set()
    for r in recorded:
        if r.key in position and r.key not in seen_keys and counts_all[r.key] == 1:
            seen_keys.add(r.key)
            anchors.append((position[r.key], r.time))
    for (pa, _), (pb, _) in itertools.pairwise(anchors):
        if pb < pa:
            result.out_of_order += 1
    ordered = sorted(anchors)
    missing = set(result.missing)
    for (pa, ta), (pb, tb) in itertools.pairwise(ordered):
        between = [k for k in observed[pa + 1 : pb] if k in missing]
        if not between:
            continue
        declared = ta is not None and tb is not None and any(ta <= g.start <= tb for g in gaps)
        (result.in_gaps if declared else result.silently_lost).extend(between)
    placed = set(result.in_gaps) | set(result.silently_lost)
    # Missing before the first or after the last recorded line: only a gap can explain them.
    for k in result.missing:
        if k not in placed:
            (result.in_gaps if gaps else result.silently_lost).append(k)
    return result


def talker_line(k: str) -> bool:
    """`only=` filter: the talkers' numbered lines."""
    return line_number(k.partition("> ")[2]) is not None
