"""The single choke point every outgoing IRC line passes through.

It removes CR, LF and NUL from every parameter (so nothing the bot repeats from IRC can
inject a second command), builds lines with correct trailing-parameter syntax, and splits
PRIVMSG text so that the line *as the server relays it to others*
(`:nick!user@host PRIVMSG target :text\\r\\n`) fits in 512 bytes, cutting only on UTF-8
character boundaries.

Splitting rule (what the property tests check): text is cut into pieces of at most
`limit` UTF-8 bytes. When a cut is needed, the rightmost space within the last
`SPACE_WINDOW` characters before the hard limit is used if there is one (and the piece
before it is not empty); that one space is dropped. Otherwise the cut is made at the
limit (moved left if needed), and then the next character is never a space. So the
original text is rebuilt by joining the pieces, inserting one space between two pieces
exactly where the text has a space at that position (`rejoin`).

No piece after the first starts with `\x01` (which would turn text the bot repeats into
a CTCP request), unless the text leaves no other cut (a window of only spaces and `\x01`).

Pure: no I/O, no logging, no `irc` import.
"""

from __future__ import annotations

MAX_LINE_BYTES = 512
"""An IRC line, CR LF included, as the server relays it."""

MAX_HOST = 63
"""The longest host name we assume the server shows for the bot."""

SPACE_WINDOW = 80
"""How far back (in characters) from a hard cut we look for a space to cut at."""

CTCP = "\x01"

_FORBIDDEN = str.maketrans("", "", "\r\n\x00")


def clean(text: str) -> str:
    """`text` without CR, LF and NUL."""
    return text.translate(_FORBIDDEN)


def middle_param(value: str) -> str:
    """A non-trailing parameter, cleaned; raises ValueError if it cannot be one."""
    value = clean(value)
    if not value or " " in value or value.startswith(":"):
        raise ValueError(f"not a valid middle parameter: {value!r}")
    return value


def command_line(command: str, *params: str, trailing: str | None = None) -> str:
    """One protocol line (without CR LF): `COMMAND p1 p2 :trailing`, every part cleaned.

    The result is capped at 510 bytes (the server's limit without CR LF).
    """
    parts = [middle_param(command), *(middle_param(p) for p in params)]
    if trailing is not None:
        parts.append(":" + clean(trailing))
    return truncate_utf8(" ".join(parts), MAX_LINE_BYTES - 2)


def sanitise_line(line: str) -> str:
    """A raw line from elsewhere (e.g. the irc library), cleaned and capped at 510 bytes."""
    return truncate_utf8(clean(line), MAX_LINE_BYTES - 2)


def truncate_utf8(text: str, limit: int) -> str:
    """The longest prefix of `text` whose UTF-8 encoding has at most `limit` bytes."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", "ignore")


def relay_overhead(nick: str, user: str, command: str, target: str) -> int:
    """Bytes the server's relayed line takes besides the text, for the longest host."""
    prefix = f":{nick}!{user}@{'h' * MAX_HOST} {command} {target} :\r\n"
    return len(prefix.encode("utf-8", "surrogatepass"))


def text_budget(nick: str, user: str, command: str, target: str) -> int:
    """How many bytes of text fit in one relayed line."""
    return MAX_LINE_BYTES - relay_overhead(nick, user, command, target)


def split_text(text: str, limit: int) -> list[str]:
    """Cut cleaned `text` into pieces of at most `limit` UTF-8 bytes (see module doc).

    Empty text gives no pieces. `limit` must hold any one character (4 bytes).
    """
    if limit < 4:
        raise ValueError(f"limit too small to hold a character: {limit}")
    text = clean(text)
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = _hard_end(text, start, limit)
        if end == len(text):
            pieces.append(text[start:])
            break
        space = _space_cut(text, start, end)
        if space > start:
            pieces.append(text[start:space])
            start = space + 1
        else:
            end = _hard_cut(text, start, end)
            pieces.append(text[start:end])
            start = end
    return pieces


def _space_cut(text: str, start: int, end: int) -> int:
    """The rightmost usable space in the window before `end`, or -1. A space is usable
    if something other than `\x01` follows it (a final space is kept, not dropped)."""
    low = max(start + 1, end - SPACE_WINDOW)
    space = text.rfind(" ", low, min(end + 1, len(text) - 1))
    while space > start and text[space + 1] == CTCP:
        space = text.rfind(" ", low, space)
    return space


def _hard_cut(text: str, start: int, end: int) -> int:
    """Move a hard cut left so the next piece starts with neither a space nor `\x01`
    (a piece starting with `\x01` would be a CTCP request the bot never meant)."""
    cut = end
    while cut - 1 > start and text[cut] in (" ", CTCP):
        cut -= 1
    return cut if text[cut] not in (" ", CTCP) else end


def _hard_end(text: str, start: int, limit: int) -> int:
    """The largest index `end` such that text[start:end] fits in `limit` bytes."""
    used = 0
    end = start
    while end < len(text):
        size = _utf8_len(text[end])
        if used + size > limit:
            break
        used += size
        end += 1
    return end


def _utf8_len(char: str) -> int:
    return len(char.encode("utf-8", "surrogatepass"))


def rejoin(text: str, pieces: list[str]) -> str:
    """Rebuild the text `split_text` cut: one space between pieces where `text` had one."""
    out = pieces[0] if pieces else ""
    for piece in pieces[1:]:
        if text[len(out) : len(out) + 1] == " ":
            out += " "
        out += piece
    return out


def privmsg_lines(nick: str, user: str, target: str, text: str) -> list[str]:
    """The PRIVMSG lines (without CR LF) that carry `text` to `target`.

    `nick` and `user` are the bot's current nick and user name (as the server shows it,
    e.g. with a leading `~`). Empty text gives no lines.
    """
    target = middle_param(target)
    budget = text_budget(nick, user, "PRIVMSG", target)
    return [f"PRIVMSG {target} :{piece}" for piece in split_text(text, budget)]


def topic_line(nick: str, user: str, channel: str, text: str) -> str:
    """A TOPIC line for `channel`, its text cut (on a character boundary) to fit."""
    channel = middle_param(channel)
    budget = text_budget(nick, user, "TOPIC", channel)
    return f"TOPIC {channel} :{truncate_utf8(clean(text), budget)}"
