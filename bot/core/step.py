"""`step(world, event) -> effects`: the one entry point of the meeting logic.

Channel lines are recorded first (from `#startmeeting` to `#endmeeting`, inclusive), then
any command on them is dispatched through the command table. Membership events keep
the channel's member list (for chair warnings, ops and accounts), follow chairs and
voters across nick changes, and are recorded as presence in running meetings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot import __version__
from bot.core import messages
from bot.core.casemap import same
from bot.core.commands import COMMANDS, add_item, permitted, previous_lines
from bot.core.effects import (
    Effect,
    GapRecorded,
    PresenceRecorded,
    Say,
    SetTopic,
    VoteChanged,
)
from bot.core.events import (
    AccountChanged,
    AccountsListed,
    Disconnected,
    Event,
    FilesPublished,
    HistoryReplayed,
    Joined,
    Kicked,
    Member,
    MembersListed,
    MessageSeen,
    NickChanged,
    OpChanged,
    Parted,
    PreviousFound,
    Quit,
    ServerInfo,
    TopicSeen,
)
from bot.core.limits import ERROR, Answer
from bot.core.recognise import CommandLine, LinkLine, link_url, recognise
from bot.core.record import LINE_ACTION, LINE_MESSAGE, Chair, Gap, Presence
from bot.core.state import ChannelState, Meeting, NetworkState, World, voter_key
from bot.core.timefmt import zone
from bot.core.turn import Turn, append_line, meeting_changed, record_line


def step(world: World, event: Event) -> list[Effect]:
    """Apply `event` to `world` and return what must be persisted, said and published."""
    handler = _HANDLERS[type(event)]
    result: list[Effect] = handler(world, event)
    return result


# --- channel lines -------------------------------------------------------------------


def on_message(world: World, event: MessageSeen) -> list[Effect]:
    net = world.network(event.network)
    if event.channel is None:
        return _on_private(world, net, event)
    chan = net.channel(event.channel)
    if event.msgid is not None and event.msgid in chan.msgids:
        return []  # replayed history already handled, in a meeting or not
    meeting = _meeting_of(chan, event)
    if same(event.nick, event.bot_nick, net.casemapping):
        # The bot's own line, relayed back by the server: record it, never obey it.
        if chan.unrecorded is not None and event.text == chan.unrecorded:
            chan.unrecorded = None
            return []
        if meeting is not None and event.echoes_own_lines:
            turn = Turn(world, net, chan, event, meeting)
            record_line(turn, meeting, event.nick, event.text, LINE_MESSAGE)
            return _handled(chan, event, turn.effects)
        return []
    parsed = None if event.action else recognise(event.text)
    turn = Turn(world, net, chan, event, meeting)
    if not event.replayed:
        _learn_account(turn)
    if meeting is None:
        if isinstance(parsed, CommandLine):
            command = COMMANDS.get(parsed.word)
            if command is not None and not command.needs_meeting:
                turn.arg = parsed.arg
                command.handler(turn)
        if not turn.effects:
            return []  # chatter between meetings: nothing to remember it by
        return _handled(chan, event, _as_heard(chan, event, turn.effects))
    record_line(
        turn, meeting, event.nick, event.text, LINE_ACTION if event.action else LINE_MESSAGE
    )
    if isinstance(parsed, LinkLine):
        add_item(turn, "link", parsed.text, link_url(parsed.text))
    elif isinstance(parsed, CommandLine):
        command = COMMANDS.get(parsed.word)
        if command is not None and permitted(command, turn):
            turn.arg = parsed.arg
            command.handler(turn)
    return _handled(chan, event, _as_heard(chan, event, turn.effects))


def _meeting_of(chan: ChannelState, event: MessageSeen) -> Meeting | None:
    """The meeting a channel line is part of: the running one, unless the line is history
    replayed from before it began."""
    meeting = chan.meeting
    if event.replayed and meeting is not None and event.time < meeting.start:
        return None
    return meeting


def _handled(chan: ChannelState, event: MessageSeen, effects: list[Effect]) -> list[Effect]:
    """`effects`, the line noted as handled, so that its replay is not (`ChannelState.msgids`)."""
    if event.msgid is not None:
        chan.note_handled(event.msgid)
    return effects


def _as_heard(chan: ChannelState, event: MessageSeen, effects: list[Effect]) -> list[Effect]:
    """A line's effects as they reach the channel. A replayed line was said long ago: no
    reply answers it, and the channel topic it set is owed until the replay is over,
    when it is set if no later line set another (`on_history_replayed`)."""
    topic = next((e.text for e in reversed(effects) if isinstance(e, SetTopic)), None)
    if topic is not None and (chan.topic_time is None or event.time >= chan.topic_time):
        chan.topic_time = event.time
        chan.owed_topic = topic if event.replayed else None
    if not event.replayed:
        return effects
    return [e for e in effects if not isinstance(e, Say | SetTopic)]


def record_chat(
    world: World,
    network: str,
    channel: str,
    bot_nick: str,
    time: datetime,
    nick: str,
    text: str,
    action: bool,
) -> bool:
    """`step` of a channel line without an account tag, for a caller that wants no effects
    (a log being read back), when the line can do nothing but be recorded: someone other
    than the bot saying plain text or an action. Those are most lines, and this path builds
    no event, turn or effect for them. Returns False, having changed nothing, for any other
    line: that one must go through `step`."""
    net = world.network(network)
    chan = net.channel(channel)
    if same(nick, bot_nick, net.casemapping):
        return False
    if not action and recognise(text) is not None:
        return False
    meeting = chan.meeting
    if meeting is not None:  # outside a meeting a plain line changes nothing
        append_line(meeting, time, nick, LINE_ACTION if action else LINE_MESSAGE, text)
    return True


def _learn_account(turn: Turn) -> None:
    """The `account` tag of a live line says who is speaking. Remember it for the member
    (so `#chair` binds them to it), and bind a chair held for them (`Meeting.held`)."""
    account, net, chan = turn.event.account, turn.net, turn.chan
    if not account:
        return
    folded = net.fold(turn.event.nick)
    member = chan.members.get(folded)
    if member is not None and member.account != account:
        chan.members[folded] = replace(member, account=account)
    meeting = chan.meeting
    # Most lines come from people who are no held chair: nothing to bind, nothing built.
    if meeting is None or not meeting.held:
        return
    if _bind_chairs(net, meeting, {folded: account}):
        turn.header_changed()


def _bind_chairs(net: NetworkState, meeting: Meeting, accounts: dict[str, str | None]) -> bool:
    """Bind the chairs held for the people who hold their nicks (`Meeting.held`) to the
    accounts those nicks are logged in as (`accounts`: folded nick -> account), so that
    whoever takes the nick after they leave is not a chair. NAMES tells no accounts: a
    chair who was in the channel before the bot and never speaks is bound from WHOX or
    account-notify. A chair whose person has gone is never bound: whoever holds the nick
    now may be anyone. Returns whether any changed."""

    def bound(chair: Chair) -> Chair:
        if chair.nick not in meeting.held:
            return chair
        account = accounts.get(net.fold(chair.nick))
        if not account:
            return chair
        meeting.held.discard(chair.nick)
        return Chair(chair.nick, account)

    if not meeting.held:
        return False
    before = meeting.all_chairs
    meeting.owner = bound(meeting.owner)
    meeting.chairs = [bound(c) for c in meeting.chairs]
    return meeting.all_chairs != before


def _on_private(world: World, net: NetworkState, event: MessageSeen) -> list[Effect]:
    if event.replayed:
        return []
    parsed = recognise(event.text)
    if not isinstance(parsed, CommandLine) or parsed.word != "startmeeting":
        return []
    # Answered in private, so not through a `Turn` (which speaks in a channel), but
    # counted and refused by the same rule.
    answer = world.limiter.answer(net.name, net.fold(event.nick), ERROR, event.time)
    if answer is Answer.REPLY:
        return [Say(net.name, event.nick, messages.CHANNELS_ONLY)]
    if answer is Answer.TELL:
        return [Say(net.name, event.nick, messages.too_many_commands(event.nick))]
    return []


# --- membership ----------------------------------------------------------------------


def _presence(
    chan: ChannelState, time: datetime, kind: str, nick: str, detail: str = ""
) -> list[Effect]:
    meeting = chan.meeting
    if meeting is None:
        return []
    presence = Presence(time, kind, nick, detail)
    meeting.presence.append(presence)
    return [PresenceRecorded(meeting.id, presence)]


def on_members(world: World, event: MembersListed) -> list[Effect]:
    net = world.network(event.network)
    chan = net.channel(event.channel)
    chan.members = {net.fold(m.nick): m for m in event.members}
    if chan.meeting is not None:  # only those still here hold their nicks
        chan.meeting.held = {n for n in chan.meeting.held if net.fold(n) in chan.members}
    return []


def on_join(world: World, event: Joined) -> list[Effect]:
    net = world.network(event.network)
    chan = net.channel(event.channel)
    effects: list[Effect] = []
    if same(event.nick, event.bot_nick, net.casemapping):
        chan.members = {}
        chan.topic = ""  # the server tells the topic right after the join, if there is one
        chan.topic_set_at = None
        if chan.away_since is not None and chan.meeting is not None:
            effects += _close_gap(chan, chan.meeting, event)
        chan.away_since = None
    elif chan.meeting is not None:  # nobody joins under a nick they hold: not them
        chan.meeting.let_go(event.nick)
    chan.members[net.fold(event.nick)] = Member(event.nick, False, event.account)
    effects += _presence(chan, event.time, "join", event.nick, event.account or "")
    return effects


def _close_gap(chan: ChannelState, meeting: Meeting, event: Joined) -> list[Effect]:
    """The bot is back in a meeting's channel: record the time it was away, and tell the
    channel that what was said meanwhile is not in the log.

    The telling is not a line of the log: the log shows the gap at its place already, and a
    line recorded now, while the files interrupted by a restart are being written, would
    leave them owed again (the store keeps a meeting pending when lines came after them)."""
    assert chan.away_since is not None
    gap = Gap(chan.away_since, event.time, chan.away_reason)
    meeting.gaps.append(gap)
    effects: list[Effect] = [GapRecorded(meeting.id, gap)]
    if meeting.lurking:
        return effects
    text = messages.recording_resumed(gap.start, gap.end, meeting.tz)
    chan.unrecorded = text if event.echoes_own_lines else None  # its echo is not recorded
    effects.append(Say(event.network, chan.name, text))
    return effects


def _bot_left(chan: ChannelState, time: datetime, reason: str) -> None:
    chan.members = {}
    chan.topic = chan.topic_set_at = None
    if chan.meeting is not None:  # the bot will not see who takes which nick meanwhile
        chan.meeting.held.clear()
    if chan.away_since is None:
        chan.away_since = time
        chan.away_reason = reason


def on_part(world: World, event: Parted) -> list[Effect]:
    return _left_channel(world, event, "part", event.reason, "parted")


def on_kick(world: World, event: Kicked) -> list[Effect]:
    detail = f"by {event.by}: {event.reason}"
    return _left_channel(world, event, "kick", detail, f"kicked by {event.by}")


def _left_channel(
    world: World, event: Parted | Kicked, kind: str, detail: str, bot_reason: str
) -> list[Effect]:
    """Someone is no longer in the channel: recorded as presence; the bot leaving opens
    a gap (`bot_reason`), anyone else leaves the member list."""
    net = world.network(event.network)
    chan = net.channel(event.channel)
    effects = _presence(chan, event.time, kind, event.nick, detail)
    if same(event.nick, event.bot_nick, net.casemapping):
        _bot_left(chan, event.time, bot_reason)
    else:
        chan.members.pop(net.fold(event.nick), None)
        if chan.meeting is not None:
            chan.meeting.let_go(event.nick)
    return effects


def on_quit(world: World, event: Quit) -> list[Effect]:
    net = world.network(event.network)
    folded = net.fold(event.nick)
    effects: list[Effect] = []
    for chan in net.channels.values():
        if chan.members.pop(folded, None) is not None:
            effects += _presence(chan, event.time, "quit", event.nick, event.reason)
        if chan.meeting is not None:
            chan.meeting.let_go(event.nick)
    return effects


def on_nick(world: World, event: NickChanged) -> list[Effect]:
    net = world.network(event.network)
    old, new = net.fold(event.old), net.fold(event.new)
    effects: list[Effect] = []
    account = next(
        (m.account for c in net.channels.values() if (m := c.members.get(old)) and m.account),
        None,
    )
    for chan in net.channels.values():
        member = chan.members.pop(old, None)
        if member is not None:
            chan.members[new] = replace(member, nick=event.new)
            effects += _presence(chan, event.time, "nick", event.old, event.new)
        if chan.meeting is not None:
            effects += _follow_nick(net, chan.meeting, event.old, event.new, account)
    return effects


def _follow_nick(
    net: NetworkState, meeting: Meeting, old: str, new: str, account: str | None
) -> list[Effect]:
    """Chairs and voters keep their standing under their new nick. A chair bound to an
    account is renamed only when the person changing nick is logged in as that account;
    a chair held for the person changing nick stays held for them (`Meeting.held`)."""
    folded_old = net.fold(old)
    if same(meeting.bot_nick, old, net.casemapping):
        meeting.bot_nick = new
    held = any(net.fold(n) == folded_old for n in meeting.held)
    meeting.let_go(old)
    meeting.let_go(new)  # whoever the bot thought held it is gone, unseen

    def renamed(chair: Chair) -> Chair:
        if net.fold(chair.nick) != folded_old:
            return chair
        if chair.account is None or chair.account == account:
            return Chair(new, chair.account)
        return chair

    effects: list[Effect] = []
    chairs_before = meeting.all_chairs
    meeting.owner = renamed(meeting.owner)
    meeting.chairs = [renamed(c) for c in meeting.chairs]
    if held:
        meeting.held.add(new)
    if meeting.all_chairs != chairs_before:
        effects.append(meeting_changed(meeting))
    vote = meeting.open_vote
    if vote is not None:
        old_key = voter_key(old, None, net.casemapping)
        new_key = voter_key(new, None, net.casemapping)
        ballots_before = list(vote.ballots.values())
        vote.ballots = {
            (new_key if key == old_key else key): (
                replace(ballot, nick=new) if net.fold(ballot.nick) == folded_old else ballot
            )
            for key, ballot in vote.ballots.items()
        }
        if list(vote.ballots.values()) != ballots_before:
            effects.append(VoteChanged(meeting.id, vote.to_record()))
    return effects


def on_op(world: World, event: OpChanged) -> list[Effect]:
    net = world.network(event.network)
    chan = net.channel(event.channel)
    folded = net.fold(event.nick)
    member = chan.members.get(folded)
    if member is not None:
        chan.members[folded] = replace(member, op=event.op)
    return _presence(chan, event.time, "op" if event.op else "deop", event.nick, event.by)


def on_account(world: World, event: AccountChanged) -> list[Effect]:
    return _learn_accounts(world.network(event.network), {event.nick: event.account})


def on_accounts(world: World, event: AccountsListed) -> list[Effect]:
    return _learn_accounts(world.network(event.network), dict(event.accounts))


def _learn_accounts(net: NetworkState, accounts: dict[str, str | None]) -> list[Effect]:
    """Who is logged in as whom (account-notify, WHOX): kept for the members, and chairs
    known only by nick are bound to their accounts."""
    folded = {net.fold(nick): account for nick, account in accounts.items()}
    effects: list[Effect] = []
    for chan in net.channels.values():
        for key, account in folded.items():
            member = chan.members.get(key)
            if member is not None and member.account != account:
                chan.members[key] = replace(member, account=account)
        if chan.meeting is not None and _bind_chairs(net, chan.meeting, folded):
            effects.append(meeting_changed(chan.meeting))
    return effects


def on_server_info(world: World, event: ServerInfo) -> list[Effect]:
    net = world.network(event.network)
    net.casemapping = event.casemapping
    old_channels = list(net.channels.values())
    net.channels = {}
    for chan in old_channels:
        chan.members = {net.fold(m.nick): m for m in chan.members.values()}
        if chan.meeting is not None:
            chan.meeting.casemapping = event.casemapping
        net.channels[net.fold(chan.name)] = chan
    return []


def on_topic(world: World, event: TopicSeen) -> list[Effect]:
    chan = world.network(event.network).channel(event.channel)
    chan.topic, chan.topic_set_at = event.text, event.set_at
    return []


def on_history_replayed(world: World, event: HistoryReplayed) -> list[Effect]:
    """The lines said while the bot was away are all in: set the channel topic the latest
    of them would have set, unless the meeting lurks since, the channel shows it, or the
    channel's topic was set (by hand, while the bot was away) after that line was said."""
    chan = world.network(event.network).channel(event.channel)
    topic, chan.owed_topic = chan.owed_topic, None
    if topic is None or topic == chan.topic:
        return []
    if _set_after(chan.topic_set_at, chan.topic_time):
        return []
    if chan.meeting is not None and chan.meeting.lurking:
        return []
    return [SetTopic(event.network, chan.name, topic)]


def _set_after(set_at: datetime | None, said: datetime | None) -> bool:
    """Whether the channel topic, set at `set_at`, was set after the line said at `said`
    (False if either is unknown). Servers tell whole seconds: within the same second, the
    line is taken to be the earlier, so the topic a person set stands."""
    if set_at is None or said is None:
        return False
    return said.replace(microsecond=0) <= set_at


def on_disconnect(world: World, event: Disconnected) -> list[Effect]:
    net = world.network(event.network)
    for chan in net.channels.values():
        _bot_left(chan, event.time, event.reason)
    return []


# --- files ---------------------------------------------------------------------------


def on_files_published(world: World, event: FilesPublished) -> list[Effect]:
    """Once the files of an ended meeting are written, say where they are (not when the
    bot lurks, nor after a `#save`). These lines are not recorded: they name files that
    already exist."""
    meeting = event.meeting
    if not (event.final and event.announce) or meeting.end is None:
        return []
    lines = messages.meeting_ended(
        meeting.end, zone(meeting.timezone), meeting.info_url, __version__, event.url_base
    )
    return [Say(event.network, meeting.channel, line) for line in lines]


# --- between meetings ----------------------------------------------------------------


def on_previous_found(world: World, event: PreviousFound) -> list[Effect]:
    """Say what the store found for `#previous`, if the meeting that asked still runs."""
    net = world.network(event.network)
    chan = net.channel(event.channel)
    meeting = chan.meeting
    if meeting is None or meeting.id != event.meeting_id:
        return []
    asked = MessageSeen(
        network=event.network,
        time=event.time,
        id=event.id,
        channel=event.channel,
        nick=event.bot_nick,
        text="",
        bot_nick=event.bot_nick,
        echoes_own_lines=event.echoes_own_lines,
    )
    turn = Turn(world, net, chan, asked, meeting)
    turn.say(previous_lines(event.series, event.found))
    return turn.effects


_HANDLERS: dict[type, Callable[[World, Any], list[Effect]]] = {
    MessageSeen: on_message,
    MembersListed: on_members,
    Joined: on_join,
    Parted: on_part,
    Kicked: on_kick,
    Quit: on_quit,
    NickChanged: on_nick,
    OpChanged: on_op,
    AccountChanged: on_account,
    AccountsListed: on_accounts,
    ServerInfo: on_server_info,
    TopicSeen: on_topic,
    HistoryReplayed: on_history_replayed,
    Disconnected: on_disconnect,
    FilesPublished: on_files_published,
    PreviousFound: on_previous_found,
}
