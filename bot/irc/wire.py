"""Incoming bytes to `irc.client.Event`s: line framing and parsing, without the library's traps.

The library's own parsing (`ServerConnection._process_line`) is replaced because:
- its PRIVMSG path runs old-style CTCP dequoting on every message: `\\x10r` becomes a bare
  CR and `hi \\x01X\\x01 there` is cut into pieces (losing ` there`); here a PRIVMSG or
  NOTICE gives exactly one event whose only argument is the text, verbatim;
- a line it cannot match (one starting with a space) or a QUIT without a reason raises,
  and an exception in `data_received` closes the connection; here such lines are
  tolerated or dropped;
- its line buffer grows without bound on a megabyte without a newline; `CappedLineBuffer`
  keeps at most `MAX_LINE_BYTES` of a line and drops the rest.

Events keep the library's conventions (type names from `irc.events`, `target` = the first
parameter, `arguments` = the rest, `tags` = list of `{"key", "value"}`), so
`translate` reads them like any `irc.client.Event`.

Pure: no I/O and no logging.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from irc.client import Event, NickMask
from irc.events import Command
from irc.message import Arguments, Tag
from jaraco.stream.buffer import LenientDecodingLineBuffer

MAX_LINE_BYTES = 16 * 1024
"""The longest incoming line kept; the rest of a longer line is dropped."""

CHANNEL_PREFIXES = "#&+!"

_LINE = re.compile(
    r"^(@(?P<tags>[^ ]*) +)?(:(?P<prefix>[^ ]+) +)?(?P<command>[^ :@][^ ]*)(?P<argument> .*)?$"
)


class CappedLineBuffer(LenientDecodingLineBuffer):  # type: ignore[misc]
    """The library's lenient line buffer (UTF-8, else latin-1, which keeps every byte:
    `line.encode("latin-1")` gives the raw bytes back), with a cap on line length."""

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        super().__init__()
        self.buffer: bytes = b""
        self.max_line = max_line
        self._skipping = False  # dropping the overlong tail of the current line

    def feed(self, data: bytes) -> None:
        if self._skipping:
            newline = data.find(b"\n")
            if newline < 0:
                return
            self._skipping = False
            data = data[newline:]
        buffer = self.buffer + data
        tail_start = buffer.rfind(b"\n") + 1
        if len(buffer) - tail_start > self.max_line:
            buffer = buffer[: tail_start + self.max_line]
            self._skipping = True
        self.buffer = buffer

    def lines(self) -> Any:
        for line in super().lines():
            yield _cap_text(line, self.max_line)

    def pending(self) -> int:
        """Bytes held for an unfinished line."""
        return len(self.buffer)


def _cap_text(line: str, max_line: int) -> str:
    # A complete line that arrived in one chunk may still be too long.
    return line[:max_line] if len(line) > max_line else line


def parse(line: str) -> Any:
    """One line (no CR LF) to an `irc.client.Event`, or None if it is not a message."""
    match = _LINE.match(line.lstrip(" "))
    if match is None:
        return None
    command = str(Command.lookup(match.group("command")))
    source = NickMask.from_group(match.group("prefix"))
    arguments = [str(a) for a in Arguments.from_group(match.group("argument") or "")]
    tags = Tag.from_group(match.group("tags"))
    if command in ("privmsg", "notice"):
        return _message_event(command, source, arguments, tags)
    return _other_event(command, source, arguments, tags)


def _message_event(command: str, source: Any, arguments: list[str], tags: Any) -> Any:
    target = arguments[0] if arguments else ""
    text = arguments[1] if len(arguments) > 1 else ""
    channel = is_channel(target)
    if command == "privmsg":
        kind = "pubmsg" if channel else "privmsg"
    else:
        kind = "pubnotice" if channel else "privnotice"
    return Event(kind, source, target, [text], tags)


def _other_event(command: str, source: Any, arguments: list[str], tags: Any) -> Any:
    if command == "quit":
        return Event(command, source, None, arguments[:1], tags)
    target = arguments[0] if arguments else None
    if command == "mode" and not is_channel(target or ""):
        command = "umode"
    return Event(command, source, target, arguments[1:], tags)


def is_channel(name: str) -> bool:
    return bool(name) and name[0] in CHANNEL_PREFIXES


def tag_dict(tags: Any) -> dict[str, str | None]:
    """The library's list of `{"key", "value"}` tags as a dict."""
    out: dict[str, str | None] = {}
    for tag in tags or ():
        out[str(tag["key"])] = None if tag["value"] is None else str(tag["value"])
    return out


SANE_TIMES = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))
"""`time` tags outside these bounds are ignored: a clock that far off is broken, and a
time near either end of the calendar overflows every time zone conversion."""


def server_time(tags: Any) -> datetime | None:
    """The IRCv3 `time` tag as an aware datetime, or None if absent, malformed or out of
    bounds (`SANE_TIMES`)."""
    value = tag_dict(tags).get("time")
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    low, high = SANE_TIMES
    return stamp if low <= stamp < high else None


def format_time(stamp: datetime) -> str:
    """An aware datetime in the IRCv3 `time` tag format (UTC, milliseconds, `Z`)."""
    utc = stamp.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
