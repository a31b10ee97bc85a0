"""One command being handled: who said it, where, and the effects it produces.

Handlers get a `Turn` and append effects through it, so the rules that apply to every
reply (lurking, per-person limits, recording the bot's own lines) live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core import messages
from bot.core.casemap import irc_lower
from bot.core.effects import Effect, LineRecorded, MeetingChanged, Say
from bot.core.events import MessageSeen
from bot.core.limits import STATE, Answer
from bot.core.record import LINE_MESSAGE, Chair, LogLine
from bot.core.state import ChannelState, Meeting, NetworkState, World


@dataclass
class Turn:
    world: World
    net: NetworkState
    chan: ChannelState
    event: MessageSeen
    # The meeting the line is part of, None outside any: the channel's running meeting,
    # unless the line is replayed history said before that meeting began.
    line_meeting: Meeting | None
    arg: str = ""
    effects: list[Effect] = field(default_factory=list)

    @property
    def meeting(self) -> Meeting:
        """The meeting the line is part of (handlers marked `needs_meeting` may rely on it)."""
        assert self.line_meeting is not None
        return self.line_meeting

    @property
    def account(self) -> str | None:
        """The speaker's account: from the message's tag, else from what the channel knows
        (not for replayed history: the channel knows who holds the nick now)."""
        if self.event.account or self.event.replayed:
            return self.event.account
        member = self.chan.members.get(self.net.fold(self.event.nick))
        return member.account if member else None

    def reply(self, lines: list[str], kind: str = STATE) -> None:
        """Say `lines` in the channel, unless lurking or over the speaker's allowance."""
        meeting = self.line_meeting
        if meeting is not None and meeting.lurking:
            return
        if not lines or self.event.replayed:  # nobody waits for an answer to history
            return
        if self.allowed(kind):
            self.say(lines)

    def allowed(self, kind: str) -> bool:
        """Count one use of the speaker's allowance of `kind`. When it is used up: False,
        and the speaker is told so (once a minute, whatever the kind)."""
        person = self.net.fold(self.event.nick)
        answer = self.world.limiter.answer(self.net.name, person, kind, self.event.time)
        if answer is Answer.TELL:
            self.say([messages.too_many_commands(self.event.nick)])
        return answer is Answer.REPLY

    def say(self, lines: list[str]) -> None:
        """Say `lines` in the channel (and record them in a running meeting) unless lurking
        or answering history; for answers whose allowance was counted when they were asked
        for."""
        meeting = self.line_meeting
        if meeting is not None and meeting.lurking:
            return
        if self.event.replayed:
            return
        for text in lines:
            self.effects.append(Say(self.net.name, self.chan.name, text))
            if meeting is not None and not self.event.echoes_own_lines:
                record_line(self, meeting, self.event.bot_nick, text, LINE_MESSAGE)

    def header_changed(self) -> None:
        self.effects.append(meeting_changed(self.meeting))

    def is_chair(self) -> bool:
        """Chair by nick (and account, where bound), or a channel operator when allowed."""
        meeting = self.line_meeting
        if meeting is not None and chair_matches(
            meeting.all_chairs, self.event.nick, self.account, self.net.casemapping
        ):
            return True
        if self.event.settings.ops_are_chairs:
            member = self.chan.members.get(self.net.fold(self.event.nick))
            return bool(member and member.op)
        return False

    def meeting_overran(self) -> bool:
        m = self.meeting
        return self.event.time - m.start > timedelta(minutes=m.length_minutes)


def meeting_changed(m: Meeting) -> MeetingChanged:
    """The effect that persists the meeting's changeable header as it is now."""
    return MeetingChanged(m.id, m.name, m.topic, tuple(m.all_chairs), m.restricted, m.lurking)


def chair_matches(chairs: list[Chair], nick: str, account: str | None, mapping: str) -> bool:
    """Whether someone with `nick` (logged in as `account`, if known) is one of `chairs`.

    A chair bound to an account is that account: a stranger who takes a departed
    chair's nick is not a chair, and the chair is one under any nick.
    """
    folded = irc_lower(nick, mapping)
    for chair in chairs:
        if chair.account:
            if account == chair.account:
                return True
        elif irc_lower(chair.nick, mapping) == folded:
            return True
    return False


def record_line(turn: Turn, meeting: Meeting, nick: str, text: str, kind: str) -> LogLine:
    """Append a line to the meeting's log and emit its recording effect."""
    time = turn.event.time
    line = LogLine(append_line(meeting, time, nick, kind, text), time, nick, kind, text)
    turn.effects.append(LineRecorded(meeting.id, line))
    return line


def append_line(meeting: Meeting, time: datetime, nick: str, kind: str, text: str) -> int:
    """Append a line to the meeting's log (and its speaker to those present); its number."""
    n = len(meeting.lines) + 1
    meeting.lines.add(n, time, nick, kind, text)
    meeting.present.add(meeting.fold(nick))
    return n
