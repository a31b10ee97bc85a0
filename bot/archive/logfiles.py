"""What an old MeetBot archive's paths and files say: layout, meeting name, date, channel,
the old bot's nick, and the text of a log in mixed encodings.

Two layouts are known: OpenStack's eavesdrop (`NAME/YYYY/NAME.YYYY-MM-DD-HH.MM.log.txt`,
no channel in the path) and Fedora's (`CHANNEL/YYYY-MM-DD/NAME.YYYY-MM-DD-HH.MM.log.txt`);
any other tree of `.log.txt` files is read by file name alone. Pure: paths and bytes in,
values out; walking and reading files is the importer's work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import PurePath

LOG_SUFFIX = ".log.txt"
UNKNOWN_CHANNEL = "unknown"

_FILE_NAME = re.compile(
    r"(?P<name>.+?)\.(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})-(?P<h>\d{2})\.(?P<mi>\d{2})"
    r"(?:-\d+)?\.log\.txt"
)
_DAY_DIR = re.compile(r"\d{4}-\d{2}-\d{2}")
_YEAR_DIR = re.compile(r"\d{4}")
_STARTED_BY = re.compile(rb"^\d\d:\d\d:\d\d <([^> \r\n]+)> Meeting started ", re.MULTILINE)
_TITLE = re.compile(r"<title>\s*([#&][^\s:<]*)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LogFile:
    """What a log's path tells: the layout, the meeting name and day, and the channel when
    the layout holds it."""

    layout: str  # "eavesdrop", "fedora" or "plain"
    name: str | None
    day: date | None
    channel: str | None


def read_path(path: PurePath) -> LogFile:
    m = _FILE_NAME.fullmatch(path.name)
    name = m.group("name") if m else None
    day = None
    if m:
        try:
            day = date(int(m.group("y")), int(m.group("mo")), int(m.group("d")))
        except ValueError:
            day = None
    parent = path.parent.name
    grandparent = path.parent.parent.name
    if _DAY_DIR.fullmatch(parent) and grandparent:
        channel = grandparent if grandparent[:1] in "#&" else f"#{grandparent}"
        return LogFile("fedora", name, day, channel)
    if _YEAR_DIR.fullmatch(parent) and name is not None and grandparent == name:
        return LogFile("eavesdrop", name, day, None)
    return LogFile("plain", name, day, None)


def channel_from_minutes(head: str) -> str | None:
    """The channel in the `<title>` of MeetBot's minutes (`<title>#chan: name</title>`)."""
    m = _TITLE.search(head)
    return m.group(1) if m and len(m.group(1)) > 1 else None


def bot_nick_in(raw: bytes) -> str | None:
    """The nick that said `Meeting started ...`: the old bot."""
    m = _STARTED_BY.search(raw)
    return m.group(1).decode("utf-8", "replace") if m else None


def decode_log(raw: bytes) -> str:
    """The log as text: UTF-8, and each line that is not valid UTF-8 read as cp1252 (the
    usual fallback of IRC clients and log tools), so `café` in Latin-1 stays `café`."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "\n".join(_decode_line(line) for line in raw.split(b"\n"))


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; they become U+FFFD rather than fail the line.
        return line.decode("cp1252", "replace")
