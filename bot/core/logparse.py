"""Reading MeetBot's `.log.txt` format back into events (the basis of `gavel replay`).

A log line is `HH:MM:SS <nick> text` or `HH:MM:SS * nick text`; `HH:MM:SS *** text` is a
note nobody said (Gavel's mark of a gap in recording, a channel logger's joins and parts)
and is skipped, neither replayed nor reported as unreadable. The log holds clock
times only: the date comes from the bot's `Meeting started <asctime>` line when there is
one (else the caller supplies it), and a clock that goes backwards means midnight passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from bot.core.events import DEFAULT_SETTINGS, ChannelSettings, MessageSeen
from bot.core.timefmt import parse_asctime

_MESSAGE = re.compile(r"(\d\d):(\d\d):(\d\d) <([^> ]*)> ?(.*)", re.DOTALL)
_ACTION = re.compile(r"(\d\d):(\d\d):(\d\d) +\* ([^ ]+) ?(.*)", re.DOTALL)
_NOTE = re.compile(r"\d\d:\d\d:\d\d \*\*\* ")
_STARTED = re.compile(r"Meeting started (\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})")


@dataclass(frozen=True, slots=True)
class LoggedLine:
    number: int  # line number in the file, 1-based
    hour: int
    minute: int
    second: int
    nick: str
    action: bool
    text: str


@dataclass(frozen=True, slots=True)
class ParsedLog:
    lines: tuple[LoggedLine, ...]
    unreadable: tuple[int, ...]  # file line numbers that are not log lines


def parse_log_line(number: int, raw: str) -> LoggedLine | None:
    for pattern, action in ((_MESSAGE, False), (_ACTION, True)):
        m = pattern.fullmatch(raw)
        if m:
            hh, mm, ss, nick, text = m.groups()
            hour, minute, second = int(hh), int(mm), int(ss)
            if hour > 23 or minute > 59 or second > 59:
                return None
            return LoggedLine(number, hour, minute, second, nick, action, text)
    return None


def parse_log(text: str) -> ParsedLog:
    """Split a whole log into lines (only LF ends a line: CRs inside text are kept)."""
    lines: list[LoggedLine] = []
    unreadable: list[int] = []
    raw_lines = text.split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    for number, raw in enumerate(raw_lines, start=1):
        parsed = parse_log_line(number, raw)
        if parsed is None:
            if not _NOTE.match(raw):
                unreadable.append(number)
        else:
            lines.append(parsed)
    return ParsedLog(tuple(lines), tuple(unreadable))


def start_date(lines: Iterable[LoggedLine], bot_nick: str) -> date | None:
    """The date in the bot's `Meeting started ...` line, if the log has one."""
    for line in lines:
        if line.nick == bot_nick:
            m = _STARTED.match(line.text)
            if m:
                parts = parse_asctime(m.group(1))
                if parts is not None:
                    return date(parts[0], parts[1], parts[2])
    return None


def line_times(lines: Iterable[LoggedLine], *, day: date, tz: tzinfo) -> list[datetime]:
    """The real time (UTC) of each logged line: its clock on `day` in `tz`, a day later
    each time the clock goes backwards (midnight passed)."""
    times: list[datetime] = []
    current = day
    previous: tuple[int, int, int] | None = None
    moment = None
    for line in lines:
        clock = (line.hour, line.minute, line.second)
        if clock != previous or moment is None:  # lines of the same second share one time
            if previous is not None and clock < previous:
                current += timedelta(days=1)
            previous = clock
            local = datetime(current.year, current.month, current.day, *clock, tzinfo=tz)
            moment = local.astimezone(UTC)
        times.append(moment)
    return times


def to_events(
    lines: Iterable[LoggedLine],
    *,
    day: date,
    tz: tzinfo,
    network: str,
    channel: str,
    bot_nick: str,
    settings: ChannelSettings = DEFAULT_SETTINGS,
    first_id: int = 1,
) -> list[MessageSeen]:
    """Turn logged lines into the channel messages they were, with real times.

    The bot's own lines are in the log, so the events say the server echoes them.
    """
    lines = tuple(lines)
    times = line_times(lines, day=day, tz=tz)
    return [
        log_event(line, time, first_id + offset, network, channel, bot_nick, settings)
        for offset, (line, time) in enumerate(zip(lines, times, strict=True))
    ]


def log_event(
    line: LoggedLine,
    time: datetime,
    event_id: int,
    network: str,
    channel: str,
    bot_nick: str,
    settings: ChannelSettings = DEFAULT_SETTINGS,
) -> MessageSeen:
    """The channel message a logged line was, said at `time`."""
    return MessageSeen(
        network=network,
        time=time,
        id=event_id,
        channel=channel,
        nick=line.nick,
        text=line.text,
        bot_nick=bot_nick,
        action=line.action,
        settings=settings,
        echoes_own_lines=True,
    )
