"""Recognising commands and bare links in a channel line (no state, no side effects).

A command is `#word` (letters and underscores) after optional leading spaces, followed
by whitespace or the end of the line; `#1234`, `#heat:`, `#open-stack` and `##x` are
ordinary text. A line starting with a URL of a known scheme is a link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMMAND = re.compile(r"[ \t]*#([A-Za-z_]+)(?:\s+(.*))?", re.DOTALL)
LINK_LINE_SCHEMES = ("http", "https", "irc", "ircs", "ftp", "mailto", "ssh")
"""Schemes of a URL that makes a line a link item. Which of them the HTML minutes make
clickable is the writers' decision (`bot.writers.htmlsafe.LINK_SCHEMES`: not `ssh`)."""
_URL_START = re.compile(
    r"\s*(?:" + "|".join(s + (":" if s == "mailto" else "://") for s in LINK_LINE_SCHEMES) + ")",
    re.IGNORECASE,
)
_URL_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")


@dataclass(frozen=True, slots=True)
class CommandLine:
    word: str  # lower case, without the '#'
    arg: str  # stripped


@dataclass(frozen=True, slots=True)
class LinkLine:
    text: str  # the whole line, stripped


def recognise(text: str) -> CommandLine | LinkLine | None:
    """What a channel message is: a command, a bare link, or ordinary text (None)."""
    match = _COMMAND.fullmatch(text)
    if match:
        return CommandLine(match.group(1).lower(), (match.group(2) or "").strip())
    if _URL_START.match(text):
        return LinkLine(text.strip())
    return None


def link_url(text: str) -> str | None:
    """The URL a link item points at: its first word, when that has a known scheme."""
    words = text.split(maxsplit=1)
    if not words or not _URL_TOKEN.fullmatch(words[0]):
        return None
    scheme = words[0].split(":", 1)[0].lower()
    return words[0] if scheme in LINK_LINE_SCHEMES else None


def split_nicks(arg: str) -> list[str]:
    """`a b, c` -> [a, b, c]: nick lists are split on commas and whitespace."""
    return [n for n in re.split(r"[,\s]+", arg) if n]
