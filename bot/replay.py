"""`gavel replay`: run an old MeetBot `.log.txt` through the core and write the five files.

The old bot's own lines (identified by its nick) are kept as recorded lines; the replay
adds no replies of its own, so the new `.log.txt` is the old one again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.archive.logfiles import decode_log
from bot.core.effects import Publish
from bot.core.events import ChannelSettings
from bot.core.logparse import parse_log, start_date, to_events
from bot.core.names import NAME_RULES, OPENSTACK
from bot.core.record import MeetingRecord
from bot.core.state import World
from bot.core.step import step
from bot.core.timefmt import zone
from bot.settings import DEFAULT_PATTERN, OutputSettings
from bot.writers.paths import pattern_problems
from bot.writers.publish import PublishedFiles, publish_meeting

_DATE_IN_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


class ReplayError(Exception):
    """The log cannot be replayed; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class ReplayResult:
    files: list[PublishedFiles]
    unreadable_lines: tuple[int, ...]


def read_log(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReplayError(f"cannot read {path}: {exc.strerror or exc}") from exc
    # Old logs are mostly UTF-8 with the odd legacy line: those are read as cp1252.
    return decode_log(raw)


def meetings_in_log(
    text: str,
    *,
    channel: str,
    bot_nick: str,
    network: str,
    timezone: str,
    fallback_day: date,
    meeting_names: str = OPENSTACK,
) -> tuple[list[MeetingRecord], tuple[int, ...]]:
    """The meetings a log holds (an unfinished one up to its last line), and unreadable lines.

    Meeting names are made again from what was typed, under the `meeting_names` rule."""
    parsed = parse_log(text)
    day = start_date(parsed.lines, bot_nick) or fallback_day
    settings = ChannelSettings(timezone=zone(timezone), meeting_names=meeting_names)
    world = World()
    records: list[MeetingRecord] = []
    for event in to_events(
        parsed.lines,
        day=day,
        tz=zone(timezone),
        network=network,
        channel=channel,
        bot_nick=bot_nick,
        settings=settings,
    ):
        records += [e.meeting for e in step(world, event) if isinstance(e, Publish) and e.final]
    records += [m.to_record() for m in world.running_meetings()]
    return records, parsed.unreadable


def fallback_day(path: Path) -> date:
    """A date for a log whose bot never said when it started: from its name, else its mtime."""
    match = _DATE_IN_NAME.search(path.name)
    if match:
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            pass
    return date.fromtimestamp(path.stat().st_mtime)


def replay(
    log_path: Path,
    *,
    channel: str,
    bot_nick: str,
    out: Path,
    network: str = "replay",
    timezone: str = "UTC",
    url_prefix: str = "",
    pattern: str = DEFAULT_PATTERN,
    meeting_names: str = OPENSTACK,
) -> ReplayResult:
    """Write the files of every meeting in the log at `log_path` under `out`, named by
    `pattern` (as `output.pattern`) with names made by the `meeting_names` rule."""
    if problems := pattern_problems(pattern):
        raise ReplayError(f"--pattern: {'; '.join(problems)}")
    if meeting_names not in NAME_RULES:
        raise ReplayError(f"--meeting-names: expected one of {', '.join(NAME_RULES)}")
    text = read_log(log_path)
    records, unreadable = meetings_in_log(
        text,
        channel=channel,
        bot_nick=bot_nick,
        network=network,
        timezone=timezone,
        fallback_day=fallback_day(log_path),
        meeting_names=meeting_names,
    )
    if not records:
        raise ReplayError(f"{log_path}: no #startmeeting found, nothing to replay")
    output = OutputSettings(dir=out, url_prefix=url_prefix, pattern=pattern)
    return ReplayResult([publish_meeting(r, output) for r in records], unreadable)
