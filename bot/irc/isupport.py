"""What the server says about itself (ISUPPORT, numeric 005), kept once per connection.

One `ServerFeatures` belongs to a connection: the `Translator` reads each 005 line into it
(the only place ISUPPORT is parsed) and the `Session` and the client read it from there,
so the case mapping, the nick prefixes and the optional commands (WHOX, CHATHISTORY) are
never held in two places that could disagree.

Pure: no I/O, no logging.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core import casemap

WHOX_TOKEN = "616"
"""The token of the bot's own `WHO #chan %tna,TOKEN` queries: its replies carry it, so
they are told apart from any other WHO reply."""


@dataclass(slots=True)
class ServerFeatures:
    """The ISUPPORT tokens the bot depends on (RFC 1459 defaults until the server speaks)."""

    casemapping: str = casemap.RFC1459
    prefix_modes: dict[str, str] = field(default_factory=lambda: {"o": "@", "v": "+"})
    chanmodes: tuple[str, str, str, str] = ("beI", "k", "l", "imnpst")
    whox: bool = False  # `WHO #chan %tna,TOKEN` tells each member's account
    history_limit: int | None = None  # CHATHISTORY: the most lines one request returns

    @property
    def prefix_symbols(self) -> str:
        return "".join(self.prefix_modes.values()) + "~&@%+"

    def fold(self, name: str) -> str:
        """`name` (a nick or a channel) in its canonical form on this server."""
        return casemap.irc_lower(name, self.casemapping)

    def same(self, a: str, b: str) -> bool:
        return casemap.same(a, b, self.casemapping)

    def apply(self, tokens: list[str]) -> set[str]:
        """Take in one 005 line's tokens; returns the names of the tokens it set."""
        pairs = dict(parse_isupport(tokens))
        if pairs.get("PREFIX"):
            self.prefix_modes = parse_prefix(pairs["PREFIX"])
        if pairs.get("CHANMODES"):
            groups = [*pairs["CHANMODES"].split(","), "", "", "", ""][:4]
            self.chanmodes = (groups[0], groups[1], groups[2], groups[3])
        if pairs.get("CASEMAPPING"):
            self.casemapping = pairs["CASEMAPPING"].lower()
        if "WHOX" in pairs:
            self.whox = True
        limit = pairs.get("CHATHISTORY", "")
        if limit.isdigit() and int(limit) > 0:
            self.history_limit = int(limit)
        return set(pairs)


def parse_isupport(tokens: list[str]) -> list[tuple[str, str]]:
    """ISUPPORT tokens as (NAME, value) pairs; `-NAME` (removal) is skipped."""
    pairs = []
    for token in tokens:
        if token.startswith("-"):
            continue
        name, _, value = token.partition("=")
        pairs.append((name.upper(), value))
    return pairs


def parse_prefix(value: str) -> dict[str, str]:
    """`(qaohv)~&@%+` as mode letter -> symbol."""
    if not value.startswith("(") or ")" not in value:
        return {"o": "@", "v": "+"}
    modes, _, symbols = value[1:].partition(")")
    return dict(zip(modes, symbols, strict=False))
