"""Incoming bytes to `irc.client.Event`s: line framing and parsing, without the library's traps.

The library's own parsing (`ServerConnection._process_line`) is replaced because:
- its PRIVMSG path runs old-style CTCP dequoting on every message: `\\x10r` becomes a bare
  CR and `hi \\x01X\\x01 there` is cut into pieces (losing ` there`); here a PRIVMSG or
  NOTICE gives exactly one event whose only argument is the text, verbatim;
- a line it cannot match (one starting with a space) or a QUIT without a reason raises,
  and an exception in `data_received` closes the connection; here such lines are
  tolerated or dropped;
- its line buffer grows without bound on a megabyte without a newline; `CappedLineBuffer`
  keeps at most `MAX_RECEIVED_LINE_BYTES` of a line and drops the rest.

Events keep the library's conventions (type names from `irc.events`, `target` = the first
parameter, `arguments` = the rest), so `translate` reads them like any `irc.client.Event`;
only `tags` is a dict (`tag_dict` also takes the library's list of `{"key", "value"}`).
Every incoming line passes through here, so it avoids the library's per-line objects.

Pure: no I/O and no logging.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from irc.client import Event, NickMask
from irc.events import Command

MAX_RECEIVED_LINE_BYTES = 16 * 1024
"""The longest incoming line kept; the rest of a longer line is dropped. (What the bot
sends is bound by the protocol's 512 bytes: `choke.MAX_LINE_BYTES`.)"""

CHANNEL_PREFIXES = "#&+!"

_LINE = re.compile(
    r"^(@(?P<tags>[^ ]*) +)?(:(?P<prefix>[^ ]+) +)?(?P<command>[^ :@][^ ]*)(?P<argument> .*)?$"
)


class CappedLineBuffer:
    """Bytes in, complete lines out: split on LF (a CR before it is dropped), decoded as
    UTF-8, else latin-1, which keeps every byte (`line.encode("latin-1")` gives the raw
    bytes back); at most `max_line` characters of a line are kept."""

    def __init__(self, max_line: int = MAX_RECEIVED_LINE_BYTES) -> None:
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
        buffer = self.buffer + data if self.buffer else data
        tail_start = buffer.rfind(b"\n") + 1
        if len(buffer) - tail_start > self.max_line:
            buffer = buffer[: tail_start + self.max_line]
            self._skipping = True
        self.buffer = buffer

    def lines(self) -> list[str]:
        """The complete lines fed so far (the unfinished one stays for the next feed)."""
        end = self.buffer.rfind(b"\n") + 1
        if not end:
            return []
        complete, self.buffer = self.buffer[:end], self.buffer[end:]
        try:  # the usual case: the whole chunk is UTF-8, decoded in one call
            texts = complete.decode("utf-8").split("\n")
        except UnicodeDecodeError:
            texts = [_decode(raw) for raw in complete.split(b"\n")]
        texts.pop()  # the empty string after the last LF
        cap = self.max_line
        return [_cap_text(t[:-1] if t.endswith("\r") else t, cap) for t in texts]

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines())

    def pending(self) -> int:
        """Bytes held for an unfinished line."""
        return len(self.buffer)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _cap_text(line: str, max_line: int) -> str:
    # A complete line that arrived in one chunk may still be too long.
    return line[:max_line] if len(line) > max_line else line


def parse(line: str) -> Any:
    """One line (no CR LF) to an `irc.client.Event`, or None if it is not a message.

    Every incoming line passes here, so it is taken apart with `partition` rather than a
    regular expression and its groups (about twice as fast); what it accepts is exactly
    `_LINE`'s (tests/test_irc_wire.py compares the two on generated lines)."""
    line = line.lstrip(" ")
    raw_tags = prefix = None
    if line[:1] == "@":
        raw_tags, space, line = line[1:].partition(" ")
        if not space:
            return None
        line = line.lstrip(" ")
    if line[:1] == ":":
        prefix, space, line = line[1:].partition(" ")
        if not space or not prefix:
            return None
        line = line.lstrip(" ")
    if not line or line[0] in ":@":
        return None
    name, space, rest = line.partition(" ")
    command = command_name(name)
    source = NickMask(prefix) if prefix else None
    arguments = _arguments(space + rest if space else None)
    tags = parse_tags(raw_tags) if raw_tags else None
    if command in ("privmsg", "notice"):
        return _message_event(command, source, arguments, tags)
    return _other_event(command, source, arguments, tags)


_COMMAND_NAMES: dict[str, str] = {}
_COMMAND_CACHE_SIZE = 512  # commands seen are few; hostile junk must not grow it


def command_name(raw: str) -> str:
    """The library's event type for a command or numeric (`001` -> `welcome`)."""
    known = _COMMAND_NAMES.get(raw)
    if known is None:
        known = str(Command.lookup(raw))
        if len(_COMMAND_NAMES) < _COMMAND_CACHE_SIZE:
            _COMMAND_NAMES[raw] = known
    return known


def _arguments(group: str | None) -> list[str]:
    """Parameters: space-separated, the last one after ` :` may hold spaces."""
    if not group:
        return []
    main, colon, trailing = group.partition(" :")
    arguments = main.split()
    if colon:
        arguments.append(trailing)
    return arguments


_TAG_ESCAPES = {":": ";", "s": " ", "n": "\n", "r": "\r", "\\": "\\"}
_TAG_ESCAPE = re.compile(r"\\(.)")


def parse_tags(group: str) -> dict[str, str | None]:
    """IRCv3 message tags (`a=1;b;c=x\\sy`) as a dict, values unescaped; a tag without
    a value (or with an empty one) maps to None."""
    tags: dict[str, str | None] = {}
    for item in group.split(";"):
        key, _, value = item.partition("=")
        if "\\" in value:
            value = _TAG_ESCAPE.sub(lambda m: _TAG_ESCAPES.get(m.group(1), m.group(1)), value)
        tags[key] = value or None
    return tags


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
    """An event's tags as a dict: `parse` already gives one; the library's own form, a
    list of `{"key", "value"}`, is converted."""
    if isinstance(tags, dict):
        return tags
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
