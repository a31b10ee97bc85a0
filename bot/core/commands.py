"""The command table and its handlers: every MeetBot command, who may use it, what it does.

Permissions are decided in one place (`permitted`) from the table, never inside a
handler. Handlers change the meeting and append effects through the `Turn`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from bot.core import messages
from bot.core.effects import (
    ItemRecorded,
    ItemRemoved,
    LookUpPrevious,
    MeetingEnded,
    MeetingStarted,
    PersonNamed,
    Publish,
    SetTopic,
    SuccessRecorded,
    VoteChanged,
)
from bot.core.events import Member
from bot.core.limits import ERROR, FOLLOWUP, INFO
from bot.core.names import meeting_name
from bot.core.recognise import link_url, split_nicks
from bot.core.record import (
    LINE_MESSAGE,
    SUCCESS,
    THANKS,
    Ballot,
    Chair,
    Item,
    Named,
    PreviousMeeting,
    Success,
)
from bot.core.state import Meeting, Vote, voter_key
from bot.core.turn import Turn, record_line
from bot.core.votes import match_option, parse_vote


class Who(Enum):
    ANYONE = "anyone"
    CHAIR = "chair"
    CHAIR_OR_LATE = "chair, or anyone once the meeting overran"


@dataclass(frozen=True, slots=True)
class Command:
    handler: Callable[[Turn], None]
    who: Who
    needs_meeting: bool
    help: str


def permitted(command: Command, turn: Turn) -> bool:
    if command.who is Who.ANYONE:
        return True
    if turn.is_chair():
        return True
    return command.who is Who.CHAIR_OR_LATE and turn.meeting_overran()


# --- starting and ending -------------------------------------------------------------


def start_meeting(turn: Turn) -> None:
    if turn.chan.meeting is not None:
        turn.reply([messages.ALREADY_RUNNING], ERROR)
        return
    if not turn.arg:
        turn.reply([messages.NAME_REQUIRED], ERROR)
        return
    event, settings = turn.event, turn.event.settings
    meeting = Meeting(
        id=event.id,
        network=turn.net.name,
        channel=turn.chan.name,
        name=meeting_name(turn.arg, turn.chan.name, settings.meeting_names),
        topic=turn.arg,
        owner=Chair(event.nick, turn.account),
        timezone=settings.timezone_name,
        start=event.time,
        length_minutes=settings.meeting_length_minutes,
        info_url=settings.info_url,
        bot_nick=event.bot_nick,
        casemapping=turn.net.casemapping,
        private=settings.private,
        saved_topic=turn.chan.topic,
    )
    if meeting.owner.account is None and not event.replayed:
        meeting.held.add(event.nick)  # the speaker holds the nick now
    turn.chan.meeting = turn.line_meeting = meeting  # the line that starts it is its first
    turn.effects.append(MeetingStarted(meeting.to_record()))
    record_line(turn, meeting, event.nick, event.text, LINE_MESSAGE)
    turn.reply(
        [
            messages.meeting_started(
                meeting.start, meeting.tz, meeting.length_minutes, event.nick, meeting.info_url
            ),
            messages.USEFUL_COMMANDS,
            messages.name_set(meeting.name),
        ]
    )
    if settings.followup and settings.previous_at_start:
        look_up_previous(turn)


def end_meeting(turn: Turn) -> None:
    meeting = turn.meeting
    if meeting.open_vote is not None:
        close_vote(turn)
    meeting.end = turn.event.time
    turn.effects.append(MeetingEnded(meeting.id, meeting.end))
    announce = not meeting.lurking and not turn.event.replayed
    turn.effects.append(Publish(meeting.to_record(), final=True, announce=announce))
    _restore_channel_topic(turn, meeting)
    turn.chan.meeting = None


def _restore_channel_topic(turn: Turn, meeting: Meeting) -> None:
    """Put back the channel topic the meeting started with, as MeetBot does, when it was
    changed: as the server tells it, or by a `#topic` whose change may not have come back
    from the server yet. An empty saved topic is put back by clearing the topic."""
    saved = meeting.saved_topic
    if saved is None or not _sets_topics(turn):
        return
    if turn.chan.topic != saved or any(i.kind == "topic" for i in meeting.items):
        turn.effects.append(SetTopic(turn.net.name, turn.chan.name, saved))


def save(turn: Turn) -> None:
    turn.effects.append(Publish(turn.meeting.to_record(), final=False, announce=False))


# --- the meeting's header ------------------------------------------------------------


def _sets_topics(turn: Turn) -> bool:
    return turn.event.settings.set_channel_topic and not turn.meeting.lurking


def set_topic(turn: Turn) -> None:
    if not turn.arg:
        return
    add_item(turn, "topic", turn.arg)
    if _sets_topics(turn):
        text = messages.channel_topic(turn.arg, turn.meeting.topic)
        turn.effects.append(SetTopic(turn.net.name, turn.chan.name, text))


def set_meeting_topic(turn: Turn) -> None:
    meeting = turn.meeting
    meeting.topic = None if turn.arg.lower() in ("", "none", "unset") else turn.arg
    turn.header_changed()
    if not _sets_topics(turn):
        return
    # The channel topic shows the current topic with the new meeting topic, as `#topic` does.
    current = next((i.text for i in reversed(meeting.items) if i.kind == "topic"), None)
    text = messages.channel_topic(current, meeting.topic) if current else meeting.topic
    if text:
        turn.effects.append(SetTopic(turn.net.name, turn.chan.name, text))


def set_meeting_name(turn: Turn) -> None:
    if not turn.arg:
        return
    meeting = turn.meeting
    meeting.name = meeting_name(turn.arg, turn.chan.name, turn.event.settings.meeting_names)
    turn.header_changed()
    turn.reply([messages.name_set(meeting.name)])


def restrict_logs(turn: Turn) -> None:
    turn.meeting.restricted = True
    turn.header_changed()
    turn.reply([messages.RESTRICTED])


def lurk(turn: Turn) -> None:
    turn.meeting.lurking = True
    turn.header_changed()


def unlurk(turn: Turn) -> None:
    turn.meeting.lurking = False
    turn.header_changed()


# --- people --------------------------------------------------------------------------


def mark_present(turn: Turn, nick: str) -> None:
    """Count `nick` as present (0 lines) unless they already are."""
    meeting = turn.meeting
    folded = meeting.fold(nick)
    if folded in meeting.present:
        return
    meeting.present.add(folded)
    named = Named(nick, len(meeting.lines))
    meeting.named.append(named)
    turn.effects.append(PersonNamed(meeting.id, named))


def add_chairs(turn: Turn) -> None:
    meeting = turn.meeting
    warnings = []
    for nick in split_nicks(turn.arg):
        member = turn.chan.members.get(turn.net.fold(nick))
        if member is None:
            warnings.append(messages.nick_not_in_channel(nick))
        name_chair(turn, nick, None if turn.event.replayed else member)
        mark_present(turn, nick)
    turn.header_changed()
    turn.reply([*warnings, messages.current_chairs(c.nick for c in meeting.all_chairs)])


def name_chair(turn: Turn, nick: str, member: Member | None) -> None:
    """Make `nick` a chair. Named while in the channel (`member`), the chair is that person:
    bound to their account when it is known, else held for them until it is (see
    `Meeting.held`). A chair known only by nick, named again while here, is vouched for
    again in the same way, the owner too (after the bot was away, nothing else binds an
    owner who had not identified); naming never makes anyone else the owner. A nick named
    in absence (or in replayed history, whose `member` would be whoever holds the nick now)
    is a chair by nick only."""
    meeting = turn.meeting
    folded = turn.net.fold(nick)
    if turn.net.fold(meeting.owner.nick) == folded:
        chair = meeting.owner
    else:
        found = next((c for c in meeting.chairs if turn.net.fold(c.nick) == folded), None)
        if found is None:
            found = Chair(member.nick if member else nick)
            meeting.chairs.append(found)
        chair = found
    if member is None or chair.account is not None:
        return
    if turn.net.fold(turn.event.nick) == folded:
        return  # nobody vouches for themselves: whoever holds a departed chair's nick would
    if member.account is None:
        meeting.held.add(chair.nick)
        return
    bound = Chair(chair.nick, member.account)
    meeting.held.discard(chair.nick)
    if chair is meeting.owner:
        meeting.owner = bound
    else:
        meeting.chairs = [bound if c == chair else c for c in meeting.chairs]


def remove_chairs(turn: Turn) -> None:
    meeting = turn.meeting
    gone = {turn.net.fold(n) for n in split_nicks(turn.arg)}
    meeting.chairs = [c for c in meeting.chairs if turn.net.fold(c.nick) not in gone]
    meeting.held &= {c.nick for c in meeting.all_chairs}
    turn.header_changed()
    turn.reply([messages.current_chairs(c.nick for c in meeting.all_chairs)])


def name_people(turn: Turn) -> None:
    for nick in split_nicks(turn.arg):
        mark_present(turn, nick)


# --- items ---------------------------------------------------------------------------


def add_item(turn: Turn, kind: str, text: str, url: str | None = None) -> None:
    meeting = turn.meeting
    line = len(meeting.lines)  # the line that made it, recorded just before
    item = Item(line, kind, text, turn.event.nick, turn.event.time, line, url)
    meeting.items.append(item)
    turn.effects.append(ItemRecorded(meeting.id, item))


def item_command(kind: str) -> Callable[[Turn], None]:
    def handler(turn: Turn) -> None:
        if turn.arg:
            url = link_url(turn.arg) if kind == "link" else None
            add_item(turn, kind, turn.arg, url)

    handler.__name__ = f"record_{kind}"
    return handler


def undo(turn: Turn) -> None:
    meeting = turn.meeting
    if not meeting.items:
        return
    item = meeting.items.pop()
    turn.effects.append(ItemRemoved(meeting.id, item.id))
    turn.reply([messages.removing_item(f"#{item.kind} {item.text}")])


# --- votes ---------------------------------------------------------------------------


def start_vote(turn: Turn) -> None:
    meeting = turn.meeting
    running = meeting.open_vote
    if running is not None:
        turn.reply([messages.already_voting(running.question)], ERROR)
        return
    parsed = parse_vote(turn.arg)
    if parsed is None:
        turn.reply([messages.VOTE_UNPARSABLE], ERROR)
        return
    question, options = parsed
    vote = Vote(question, options, turn.event.nick, turn.event.time, len(meeting.lines))
    meeting.votes.append(vote)
    turn.effects.append(VoteChanged(meeting.id, vote.to_record()))
    turn.reply([messages.vote_begins(question, options), messages.VOTE_HOW])


def cast_vote(turn: Turn) -> None:
    meeting = turn.meeting
    vote = meeting.open_vote
    if vote is None or not turn.arg:
        return
    option = match_option(turn.arg, vote.options)
    if option is None:
        turn.reply([messages.invalid_option(turn.event.nick, turn.arg, vote.options)], ERROR)
        return
    key = voter_key(turn.event.nick, turn.account, turn.net.casemapping)
    vote.ballots[key] = Ballot(turn.event.nick, option, turn.account)
    turn.effects.append(VoteChanged(meeting.id, vote.to_record()))


def show_vote(turn: Turn) -> None:
    vote = turn.meeting.open_vote
    if vote is not None:
        turn.reply(messages.vote_tallies(vote.to_record()), INFO)


def end_vote(turn: Turn) -> None:
    if turn.meeting.open_vote is not None:
        close_vote(turn)


def close_vote(turn: Turn) -> None:
    """Close the open vote, reply with the result and record it as a VOTE item."""
    meeting = turn.meeting
    vote = meeting.open_vote
    assert vote is not None
    vote.closed_at = turn.event.time
    vote.closed_line = len(meeting.lines)
    record = vote.to_record()
    turn.effects.append(VoteChanged(meeting.id, record))
    add_item(turn, "vote", messages.vote_item_text(record))
    turn.reply([messages.vote_result_heading(vote.question), *messages.vote_tallies(record)])


# --- between meetings ----------------------------------------------------------------

MAX_SUCCESS_TEXT = 400  # characters kept of a #success or #thanks
MAX_PREVIOUS_ACTIONS = 10  # action items #previous lists before pointing at the minutes


def success_command(kind: str) -> Callable[[Turn], None]:
    """`#success TEXT` / `#thanks TEXT`: kept (before the reply, like every record), at
    most one per person per minute, in any channel that has not switched them off."""

    def handler(turn: Turn) -> None:
        event = turn.event
        if not event.settings.followup:
            return
        text = turn.arg.strip()
        if not text:
            turn.reply([messages.usage_text(kind)], ERROR)
            return
        if not turn.allowed(FOLLOWUP):
            return
        meeting = turn.line_meeting
        success = Success(
            kind=kind,
            time=event.time,
            network=turn.net.name,
            channel=turn.chan.name,
            nick=event.nick,
            account=turn.account,
            text=text[:MAX_SUCCESS_TEXT],
            meeting_id=meeting.id if meeting is not None else None,
        )
        turn.effects.append(SuccessRecorded(success))
        if kind == THANKS:
            turn.reply([messages.thanks_added(event.nick, event.settings.thanks_url)])
        else:
            turn.reply([messages.success_added(event.nick, event.settings.successes_url)])

    handler.__name__ = f"record_{kind}"
    return handler


def previous(turn: Turn) -> None:
    """`#previous`: one informational reply, answered once the store has looked it up."""
    event = turn.event
    if not event.settings.followup or turn.meeting.lurking or event.replayed:
        return
    if turn.allowed(INFO):
        look_up_previous(turn)


def look_up_previous(turn: Turn) -> None:
    """Ask the store for the previous meeting; nothing is asked for history replayed after
    a reconnect, whose answer would never be said."""
    meeting, event = turn.meeting, turn.event
    if event.replayed:
        return
    turn.effects.append(
        LookUpPrevious(
            network=turn.net.name,
            channel=turn.chan.name,
            meeting_id=meeting.id,
            meeting_name=meeting.name,
            before=meeting.start,
            time=event.time,
            bot_nick=event.bot_nick,
            echoes_own_lines=event.echoes_own_lines,
        )
    )


def previous_lines(series: str, found: PreviousMeeting | None) -> list[str]:
    """What `#previous` says about the previous meeting of `series`."""
    if found is None:
        return [messages.no_previous(series)]
    lines = [messages.previous_meeting(series, found.url, found.date)]
    if not found.actions:
        return [*lines, messages.NO_PREVIOUS_ACTIONS]
    lines.append(messages.PREVIOUS_ACTIONS)
    lines += [messages.previous_action(text) for text in found.actions[:MAX_PREVIOUS_ACTIONS]]
    more = len(found.actions) - MAX_PREVIOUS_ACTIONS
    if more > 0:
        lines.append(messages.previous_more(more))
    return lines


def list_commands(turn: Turn) -> None:
    turn.reply([messages.available_commands(COMMANDS)], INFO)


def _item(kind: str, help: str) -> Command:
    return Command(item_command(kind), Who.ANYONE, True, help)


def _chair(handler: Callable[[Turn], None], help: str) -> Command:
    return Command(handler, Who.CHAIR, True, help)


_AGREED = Command(item_command("agreed"), Who.CHAIR, True, "record an agreement")
_ACCEPTED = Command(item_command("accepted"), Who.CHAIR, True, "record an acceptance")
_REJECTED = Command(item_command("rejected"), Who.CHAIR, True, "record a rejection")
_HELP = _item("help", "record a call for help")

COMMANDS: dict[str, Command] = {
    "startmeeting": Command(
        start_meeting, Who.ANYONE, False, "start a meeting: #startmeeting NAME"
    ),
    "endmeeting": Command(end_meeting, Who.CHAIR_OR_LATE, True, "end the meeting, write files"),
    "topic": _chair(set_topic, "start a new topic"),
    "meetingtopic": _chair(set_meeting_topic, "set the meeting's title (none to clear)"),
    "meetingname": _chair(set_meeting_name, "set the name used in file names"),
    "chair": _chair(add_chairs, "add chairs"),
    "unchair": _chair(remove_chairs, "remove chairs (never the owner)"),
    "undo": _chair(undo, "remove the most recent item"),
    "save": _chair(save, "write the files so far"),
    "lurk": _chair(lurk, "stop speaking and setting topics"),
    "unlurk": _chair(unlurk, "speak again"),
    "restrictlogs": _chair(restrict_logs, "make this meeting's files private to the owner"),
    "agreed": _AGREED,
    "agree": _AGREED,
    "accepted": _ACCEPTED,
    "accept": _ACCEPTED,
    "rejected": _REJECTED,
    "reject": _REJECTED,
    "startvote": _chair(start_vote, "open a vote: #startvote QUESTION? A, B"),
    "endvote": _chair(end_vote, "close the vote and record the result"),
    "action": _item("action", "record an action item"),
    "info": _item("info", "record information"),
    "idea": _item("idea", "record an idea"),
    "help": _HELP,
    "halp": _HELP,
    "link": _item("link", "record a link"),
    "nick": Command(name_people, Who.ANYONE, True, "mark people as present"),
    "vote": Command(cast_vote, Who.ANYONE, True, "vote: #vote OPTION"),
    "showvote": Command(show_vote, Who.ANYONE, True, "show the votes so far"),
    "commands": Command(list_commands, Who.ANYONE, False, "list the commands"),
    "success": Command(success_command(SUCCESS), Who.ANYONE, False, "add to the Success page"),
    "thanks": Command(success_command(THANKS), Who.ANYONE, False, "add to the Thanks page"),
    "previous": Command(previous, Who.ANYONE, True, "last meeting's action items"),
}
