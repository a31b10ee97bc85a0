"""A small driver for feeding events to the core in tests: plain data in, effects out."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.core.effects import Effect, Publish, Say, SetTopic
from bot.core.events import (
    DEFAULT_SETTINGS,
    ChannelSettings,
    HistoryReplayed,
    Joined,
    Member,
    MembersListed,
    MessageSeen,
    TopicSeen,
)
from bot.core.state import Meeting, World
from bot.core.step import step

START = datetime(2013, 1, 9, 20, 1, 10, tzinfo=UTC)
_IDS = itertools.count(1)  # ids are unique across rooms, as the engine's are


@dataclass
class Room:
    """One channel on one network, with a clock that moves one second per event."""

    world: World = field(default_factory=World)
    network: str = "net"
    channel: str = "#chan"
    bot: str = "meetbot"
    settings: ChannelSettings = DEFAULT_SETTINGS
    now: datetime = START
    echo: bool = False

    def tick(self, seconds: float = 1) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def _id(self) -> int:
        return next(_IDS)

    def feed(self, event: object) -> list[Effect]:
        return step(self.world, event)  # type: ignore[arg-type]

    def say(
        self,
        nick: str,
        text: str,
        *,
        account: str | None = None,
        action: bool = False,
        after: float = 1,
        replayed: bool = False,
        msgid: str | None = None,
        at: datetime | None = None,
    ) -> list[Effect]:
        """`nick` says `text` `after` seconds after the last event, or at the time `at` (a
        replayed line's own time) without moving the room's clock."""
        if at is None:
            self.tick(after)
        return self.feed(
            MessageSeen(
                network=self.network,
                time=self.now if at is None else at,
                id=self._id(),
                channel=self.channel,
                nick=nick,
                text=text,
                bot_nick=self.bot,
                action=action,
                account=account,
                settings=self.settings,
                echoes_own_lines=self.echo,
                replayed=replayed,
                msgid=msgid,
            )
        )

    def members(self, *members: Member | str) -> list[Effect]:
        listed = tuple(Member(m) if isinstance(m, str) else m for m in members)
        return self.feed(MembersListed(self.network, self.now, self._id(), self.channel, listed))

    def join(self, nick: str, account: str | None = None) -> list[Effect]:
        self.tick()
        return self.feed(
            Joined(
                self.network, self.now, self._id(), self.channel, nick, self.bot, account, self.echo
            )
        )

    def history_replayed(self) -> list[Effect]:
        """The server has replayed the history asked for on the bot's return."""
        return self.feed(HistoryReplayed(self.network, self.now, self._id(), self.channel))

    def topic_is(self, text: str, set_at: datetime | None = None) -> list[Effect]:
        """The server tells the channel's topic (on join, or after a change), and when it
        was set, if it says."""
        return self.feed(TopicSeen(self.network, self.now, self._id(), self.channel, text, set_at))

    @property
    def meeting(self) -> Meeting | None:
        return self.world.network(self.network).channel(self.channel).meeting


def said(effects: list[Effect]) -> list[str]:
    """The texts of the `Say` effects, in order."""
    return [e.text for e in effects if isinstance(e, Say)]


def topics(effects: list[Effect]) -> list[str]:
    return [e.text for e in effects if isinstance(e, SetTopic)]


def published(effects: list[Effect]) -> list[Publish]:
    return [e for e in effects if isinstance(e, Publish)]
