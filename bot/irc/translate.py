"""Library events (`irc.client.Event`, as `wire.parse` builds them) to core events.

Everything the core needs to know is stamped here: the network, the bot's nick at the
time, the line's time (the IRCv3 `time` tag when present, else the receive time), an id
and the channel's settings. The few things that span lines are kept in `Translator`:
NAMES replies collected until end-of-NAMES, WHOX replies (accounts) until end-of-WHO,
the ISUPPORT tokens (read into the connection's `ServerFeatures`, the one place they are
parsed) and which BATCHes are replayed history.

CTCP: a message is CTCP only if its text starts with `\\x01`; `ACTION` becomes an action
line, other CTCP requests are not lines anyone reads and are dropped; everything else is
recorded verbatim (no CTCP dequoting: `hi \\x01X\\x01 there` is one line).

Pure: no I/O, no clock, no logging; it must not send anything.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.core.events import (
    DEFAULT_SETTINGS,
    AccountChanged,
    AccountsListed,
    ChannelSettings,
    Event,
    HistoryReplayed,
    Joined,
    Kicked,
    Member,
    MembersListed,
    MessageSeen,
    NickChanged,
    OpChanged,
    Parted,
    Quit,
    ServerInfo,
    TopicSeen,
)
from bot.irc.isupport import WHOX_TOKEN, ServerFeatures
from bot.irc.wire import server_time, tag_dict

__all__ = ["Context", "ServerFeatures", "Translator", "parse_modes", "parse_name"]

OP_SYMBOLS = frozenset("~&@")
"""NAMES prefixes that make someone a channel operator (owner, admin, op; not % or +)."""

HISTORY_BATCH_TYPES = frozenset({"chathistory", "draft/chathistory"})


@dataclass(frozen=True, slots=True)
class Context:
    """What the translation of one event needs from outside."""

    network: str
    bot_nick: str
    received: datetime
    next_id: Callable[[], int]
    settings: Callable[[str], ChannelSettings] = lambda _channel: DEFAULT_SETTINGS
    echo: bool = False


class Translator:
    """Turns one connection's library events into core events."""

    def __init__(self, features: ServerFeatures | None = None) -> None:
        self.features = features or ServerFeatures()
        self._names: dict[str, list[Member]] = {}
        self._history_batches: dict[str, str] = {}  # open history batch -> its target
        self._accounts: list[tuple[str, str | None]] = []  # WHOX replies until end of WHO
        self._server_time: datetime | None = None  # the event's `time` tag, when given
        self._topic_told: tuple[str, str] | None = None  # RPL_TOPIC's channel and text

    def translate(
        self, event: Any, ctx: Context, server_time: datetime | None = None
    ) -> list[Event]:
        """`server_time`: the event's `time` tag already read (`wire.server_time`), so it
        is not parsed twice; without it the tag is read here."""
        handler = _HANDLERS.get(str(event.type))
        if handler is None:
            return []
        self._server_time = server_time
        return handler(self, event, ctx)

    def same(self, a: str, b: str) -> bool:
        return self.features.same(a, b)

    def _time(self, event: Any, ctx: Context) -> datetime:
        return self._server_time or server_time(event.tags) or ctx.received

    def _stamp(self, event: Any, ctx: Context) -> tuple[str, datetime, int]:
        """The first three fields of every core event: network, time, id."""
        return ctx.network, self._time(event, ctx), ctx.next_id()

    # -- messages -------------------------------------------------------------------

    def _message(self, event: Any, ctx: Context) -> list[Event]:
        nick = _nick(event.source)
        target = str(event.target or "")
        text = str(event.arguments[0]) if event.arguments else ""
        channel: str | None = target
        if event.type == "privmsg":
            if not self.same(target, ctx.bot_nick) or self.same(nick, ctx.bot_nick):
                return []  # status messages (@#chan) and echoes of the bot's queries
            channel = None
        action = False
        if text.startswith("\x01"):
            command, _, rest = text[1:].removesuffix("\x01").partition(" ")
            if command.upper() != "ACTION":
                return []
            action, text = True, rest
        tags = tag_dict(event.tags)
        replayed = tags.get("batch") in self._history_batches
        return [
            MessageSeen(
                *self._stamp(event, ctx),
                channel=channel,
                nick=nick,
                text=text,
                bot_nick=ctx.bot_nick,
                action=action,
                account=_account(tags.get("account")),
                settings=ctx.settings(channel) if channel else DEFAULT_SETTINGS,
                echoes_own_lines=ctx.echo,
                replayed=replayed,
                msgid=tags.get("msgid"),
            )
        ]

    def _batch(self, event: Any, ctx: Context) -> list[Event]:
        """`BATCH +REF chathistory #chan` opens a batch of replayed history; `BATCH -REF`
        closes it, and then the channel's history is all in."""
        ref = str(event.target or "")
        if ref.startswith("+") and event.arguments:
            if str(event.arguments[0]).lower() in HISTORY_BATCH_TYPES:
                self._history_batches[ref[1:]] = _arg(event, 1)
        elif ref.startswith("-"):
            target = self._history_batches.pop(ref[1:], None)
            if target and not self.same(target, ctx.bot_nick):  # a channel's history
                return [HistoryReplayed(*self._stamp(event, ctx), channel=target)]
        return []

    # -- membership -----------------------------------------------------------------

    def _join(self, event: Any, ctx: Context) -> list[Event]:
        account = _account(str(event.arguments[0])) if event.arguments else None
        if account is None:
            account = _account(tag_dict(event.tags).get("account"))
        return [
            Joined(
                *self._stamp(event, ctx),
                channel=str(event.target),
                nick=_nick(event.source),
                bot_nick=ctx.bot_nick,
                account=account,
                echoes_own_lines=ctx.echo,
            )
        ]

    def _part(self, event: Any, ctx: Context) -> list[Event]:
        return [
            Parted(
                *self._stamp(event, ctx),
                channel=str(event.target),
                nick=_nick(event.source),
                bot_nick=ctx.bot_nick,
                reason=_arg(event, 0),
            )
        ]

    def _kick(self, event: Any, ctx: Context) -> list[Event]:
        if not event.arguments:
            return []
        return [
            Kicked(
                *self._stamp(event, ctx),
                channel=str(event.target),
                nick=str(event.arguments[0]),
                by=_nick(event.source),
                bot_nick=ctx.bot_nick,
                reason=_arg(event, 1),
            )
        ]

    def _quit(self, event: Any, ctx: Context) -> list[Event]:
        nick = _nick(event.source)
        if self.same(nick, ctx.bot_nick):
            return []
        return [Quit(*self._stamp(event, ctx), nick=nick, reason=_arg(event, 0))]

    def _nick(self, event: Any, ctx: Context) -> list[Event]:
        if not event.target:
            return []
        return [
            NickChanged(
                *self._stamp(event, ctx),
                old=_nick(event.source),
                new=str(event.target),
            )
        ]

    def _account(self, event: Any, ctx: Context) -> list[Event]:
        return [
            AccountChanged(
                *self._stamp(event, ctx),
                nick=_nick(event.source),
                account=_account(str(event.target or "*")),
            )
        ]

    def _mode(self, event: Any, ctx: Context) -> list[Event]:
        if not event.arguments:
            return []
        changes = parse_modes(
            str(event.arguments[0]), [str(a) for a in event.arguments[1:]], self.features
        )
        op_modes = {m for m, sym in self.features.prefix_modes.items() if sym in OP_SYMBOLS}
        return [
            OpChanged(
                *self._stamp(event, ctx),
                channel=str(event.target),
                nick=param,
                op=adding,
                by=_nick(event.source),
            )
            for adding, mode, param in changes
            if mode in op_modes and param
        ]

    # -- topic ----------------------------------------------------------------------

    def _topic(self, event: Any, ctx: Context) -> list[Event]:
        """TOPIC (anyone's change, the bot's included): `#chan :text`, set as it comes."""
        if not event.target:
            return []
        network, time, id_ = self._stamp(event, ctx)
        return [TopicSeen(network, time, id_, str(event.target), _arg(event, 0), set_at=time)]

    def _current_topic(self, event: Any, ctx: Context) -> list[Event]:
        """RPL_TOPIC (332) after a join: `bot #chan :text`; RPL_NOTOPIC (331): none."""
        self._topic_told = None
        if not event.arguments:
            return []
        channel = str(event.arguments[0])
        text = _arg(event, 1) if event.type == "currenttopic" else ""
        if event.type == "currenttopic":
            self._topic_told = (channel, text)
        return [TopicSeen(*self._stamp(event, ctx), channel=channel, text=text)]

    def _topic_set_at(self, event: Any, ctx: Context) -> list[Event]:
        """RPL_TOPICWHOTIME (333), right after RPL_TOPIC: `bot #chan setter unixtime`. The
        topic just told, told again with the time it was set (nothing without a time)."""
        told, self._topic_told = self._topic_told, None
        if told is None or len(event.arguments) < 3 or not self.same(told[0], _arg(event, 0)):
            return []
        set_at = _unix_time(_arg(event, 2))
        if set_at is None:
            return []
        return [TopicSeen(*self._stamp(event, ctx), channel=told[0], text=told[1], set_at=set_at)]

    # -- NAMES ----------------------------------------------------------------------

    def _namreply(self, event: Any, _ctx: Context) -> list[Event]:
        if len(event.arguments) < 2:
            return []
        channel = str(event.arguments[-2])
        members = self._names.setdefault(self._fold(channel), [])
        for entry in str(event.arguments[-1]).split():
            member = parse_name(entry, self.features.prefix_symbols)
            if member is not None:
                members.append(member)
        return []

    def _endofnames(self, event: Any, ctx: Context) -> list[Event]:
        if not event.arguments:
            return []
        channel = str(event.arguments[0])
        members = self._names.pop(self._fold(channel), [])
        return [
            MembersListed(
                *self._stamp(event, ctx),
                channel=channel,
                members=tuple(members),
            )
        ]

    def _fold(self, name: str) -> str:
        return self.features.fold(name)

    # -- ISUPPORT -------------------------------------------------------------------

    def _featurelist(self, event: Any, ctx: Context) -> list[Event]:
        given = self.features.apply([str(a) for a in event.arguments[:-1]])
        if "CASEMAPPING" not in given:
            return []
        return [
            ServerInfo(
                *self._stamp(event, ctx),
                casemapping=self.features.casemapping,
            )
        ]

    # -- WHOX -----------------------------------------------------------------------

    def _whox_reply(self, event: Any, _ctx: Context) -> list[Event]:
        """`354 me TOKEN NICK ACCOUNT`, the answer to the `WHO #chan %tna,TOKEN` the
        session sends on joining; replies to anyone else's WHO carry another token."""
        args = [str(a) for a in event.arguments]
        if len(args) >= 3 and args[0] == WHOX_TOKEN:
            self._accounts.append((_nick(args[1]), _account("*" if args[2] == "0" else args[2])))
        return []

    def _end_of_who(self, event: Any, ctx: Context) -> list[Event]:
        if not self._accounts:
            return []
        accounts, self._accounts = tuple(self._accounts), []
        return [AccountsListed(*self._stamp(event, ctx), accounts=accounts)]


_Handler = Callable[[Translator, Any, Context], list[Event]]

_HANDLERS: dict[str, _Handler] = {
    "pubmsg": Translator._message,
    "privmsg": Translator._message,
    "batch": Translator._batch,
    "join": Translator._join,
    "part": Translator._part,
    "kick": Translator._kick,
    "quit": Translator._quit,
    "nick": Translator._nick,
    "account": Translator._account,
    "mode": Translator._mode,
    "topic": Translator._topic,
    "currenttopic": Translator._current_topic,
    "notopic": Translator._current_topic,
    "topicinfo": Translator._topic_set_at,
    "namreply": Translator._namreply,
    "endofnames": Translator._endofnames,
    "featurelist": Translator._featurelist,
    "whospcrpl": Translator._whox_reply,
    "endofwho": Translator._end_of_who,
}


def _nick(source: Any) -> str:
    # Interned: a meeting keeps a nick per recorded line, and a handful of people say them all.
    return sys.intern(str(source or "").partition("!")[0])


def _arg(event: Any, index: int) -> str:
    return str(event.arguments[index]) if len(event.arguments) > index else ""


def _unix_time(text: str) -> datetime | None:
    """Seconds since the epoch, as servers tell times, or None if it is no such time."""
    if not (text.isascii() and text.isdigit()):
        return None
    try:
        return datetime.fromtimestamp(int(text), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _account(value: str | None) -> str | None:
    return None if value in (None, "", "*") else value


def parse_name(entry: str, prefix_symbols: str) -> Member | None:
    """One NAMES entry (`@+nick`, or `@nick!user@host` with userhost-in-names)."""
    nick = entry.lstrip(prefix_symbols)
    prefixes = entry[: len(entry) - len(nick)]
    nick = nick.partition("!")[0]
    if not nick:
        return None
    return Member(nick=nick, op=any(p in OP_SYMBOLS for p in prefixes))


def parse_modes(
    modestring: str, params: list[str], features: ServerFeatures
) -> list[tuple[bool, str, str | None]]:
    """Channel MODE changes as (adding, mode letter, parameter or None)."""
    list_modes, always, when_set, _never = features.chanmodes
    with_param = set(list_modes) | set(always) | set(features.prefix_modes)
    queue = list(params)
    adding = True
    changes: list[tuple[bool, str, str | None]] = []
    for char in modestring:
        if char in "+-":
            adding = char == "+"
            continue
        takes = char in with_param or (adding and char in when_set)
        param = queue.pop(0) if takes and queue else None
        changes.append((adding, char, param))
    return changes
