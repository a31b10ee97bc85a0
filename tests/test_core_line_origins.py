"""Where a channel line comes from decides what the bot does with it: a live line is
answered; the bot's own line echoed back is recorded, never obeyed; history the server
replays after a reconnect changes the meeting but is never answered; a replayed log is
recorded with the bot's own lines as they were logged."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from bot.core.effects import Effect, LineRecorded, Say, SetTopic, SuccessRecorded, VoteChanged
from bot.core.events import DEFAULT_SETTINGS, Disconnected
from bot.core.limits import MAX_TRACKED as LIMITER_TRACKS
from bot.core.logparse import parse_log, to_events
from bot.core.state import MSGIDS_KEPT, World
from bot.core.step import step
from bot.core.timefmt import zone
from tests.corekit import Room, published, said, topics


def successes(effects: list[Effect]) -> list[SuccessRecorded]:
    return [e for e in effects if isinstance(e, SuccessRecorded)]


def started(room: Room) -> Room:
    room.members("alice", "bob", "meetbot")
    room.say("alice", "#startmeeting heat", msgid="start")
    return room


def test_own_echo_is_recorded_once_and_never_obeyed() -> None:
    room = started(Room(echo=True))
    assert room.meeting is not None
    assert any(isinstance(e, SetTopic) for e in room.say("alice", "#topic one"))
    effects = room.say("alice", "#chair bob")
    assert said(effects) == ["Current chairs: alice bob"]
    recorded = [e.line.nick for e in effects if isinstance(e, LineRecorded)]
    assert recorded == ["alice"]  # the reply is recorded when its echo comes back
    echoed = room.say("meetbot", "#endmeeting")
    assert [e.line.text for e in echoed if isinstance(e, LineRecorded)] == ["#endmeeting"]
    assert room.meeting is not None  # recorded, not obeyed


def test_replayed_history_changes_the_meeting_and_says_nothing() -> None:
    room = started(Room())
    assert room.meeting is not None
    before = len(room.meeting.lines)
    effects = room.say("alice", "#startvote Lunch? pizza, soup", replayed=True)
    assert [e for e in effects if isinstance(e, Say | SetTopic)] == []
    assert any(isinstance(e, VoteChanged) for e in effects)
    assert room.meeting.open_vote is not None
    assert room.meeting.open_vote.options == ("pizza", "soup")
    # the command line is recorded, no reply of the bot's is
    assert [line.nick for line in room.meeting.lines[before:]] == ["alice"]
    effects = room.say("alice", "#chair bob", replayed=True)
    assert said(effects) == []
    assert [c.nick for c in room.meeting.all_chairs] == ["alice", "bob"]
    assert [
        e for e in room.say("alice", "#topic late", replayed=True) if isinstance(e, SetTopic)
    ] == []
    # said live, the same commands are answered
    assert said(room.say("alice", "#chair")) == ["Current chairs: alice bob"]


def test_replayed_history_is_not_recorded_twice() -> None:
    room = started(Room())
    assert room.meeting is not None
    room.say("bob", "heard live", msgid="m1")
    count = len(room.meeting.lines)
    assert room.say("bob", "heard live", replayed=True, msgid="m1") == []
    assert room.say("alice", "#startmeeting heat", replayed=True, msgid="start") == []
    assert len(room.meeting.lines) == count
    room.say("bob", "missed while away", replayed=True, msgid="m2")
    assert room.meeting.lines[-1].text == "missed while away"
    assert room.say("bob", "missed while away", replayed=True, msgid="m2") == []
    assert len(room.meeting.lines) == count + 1


def test_msgids_kept_are_bounded() -> None:
    room = started(Room())
    chan = room.world.network("net").channel("#chan")
    for n in range(MSGIDS_KEPT + 10):
        room.say("bob", f"line {n}", msgid=f"id{n}")
    assert len(chan.msgids) == MSGIDS_KEPT
    assert "id0" not in chan.msgids and f"id{MSGIDS_KEPT + 9}" in chan.msgids
    # The channel's memory goes on between meetings, for the lines that do something:
    # chatter is not kept (a network of busy channels would keep thousands of ids each).
    room.say("alice", "#endmeeting", msgid="end")
    for n in range(20):
        room.say("bob", f"chatter {n}", msgid=f"chat{n}")
    room.say("bob", "#success it works", msgid="success")
    assert "end" in chan.msgids and "success" in chan.msgids
    assert not any(f"chat{n}" in chan.msgids for n in range(20))
    assert len(chan.msgids) == MSGIDS_KEPT


def test_a_line_handled_outside_a_meeting_is_not_handled_again() -> None:
    """History replayed after a reconnect begins at the last line heard, so lines already
    handled come again; outside a meeting as inside, each is handled once."""
    room = started(Room())
    room.say("alice", "#endmeeting", msgid="end")
    assert room.say("alice", "#startmeeting heat", replayed=True, msgid="start") == []
    assert room.say("alice", "#endmeeting", replayed=True, msgid="end") == []
    assert room.meeting is None  # no second meeting
    # a #startmeeting refused while a meeting ran is not obeyed once the meeting is over
    room = started(Room())
    assert said(room.say("bob", "#startmeeting other", msgid="other")) != []
    room.say("alice", "#endmeeting", msgid="end")
    assert room.say("bob", "#startmeeting other", replayed=True, msgid="other") == []
    assert room.meeting is None
    # a line said while no meeting ran, replayed after one started, is not recorded in it
    room = Room()
    room.members("alice", "bob", "meetbot")
    room.say("bob", "before the meeting", msgid="before")
    said_at = room.now
    room.say("alice", "#startmeeting heat", msgid="start")
    assert room.say("bob", "before the meeting", replayed=True, msgid="before", at=said_at) == []
    # nor one the bot never heard, said before the meeting began
    assert room.say("bob", "unheard, before", replayed=True, msgid="unheard", at=said_at) == []


def test_a_success_is_kept_once_however_often_it_is_replayed() -> None:
    """The one-a-minute limit on a person's #success used to hide a replayed copy, as long
    as the limiter still remembered the person; the channel remembers the line itself."""
    room = Room()
    room.members("alice", "meetbot")
    assert successes(room.say("alice", "#success it works", msgid="s1"))
    for n in range(LIMITER_TRACKS):  # a busy network: the limiter forgets alice
        room.say(f"p{n}", "#commands", after=0)
    assert room.say("alice", "#success it works", replayed=True, msgid="s1") == []
    assert successes(room.say("alice", "#success again", replayed=True, msgid="s2"))


def test_a_replayed_success_said_before_the_meeting_began_is_outside_it() -> None:
    """A replayed line said before the running meeting began is no line of it: neither
    recorded in it nor, for a `#success`, kept as said in it."""
    room = Room()
    room.members("alice", "bob", "meetbot")
    said_at = room.tick()
    room.say("alice", "#startmeeting heat", msgid="start")
    assert room.meeting is not None
    lines = len(room.meeting.lines)
    (early,) = successes(room.say("bob", "#success early", replayed=True, msgid="e", at=said_at))
    assert early.success.meeting_id is None
    assert len(room.meeting.lines) == lines
    (late,) = successes(room.say("alice", "#thanks late", replayed=True, msgid="l"))
    assert late.success.meeting_id == room.meeting.id


def test_replayed_endmeeting_publishes_without_announcing() -> None:
    room = started(Room())
    (publish,) = published(room.say("alice", "#endmeeting", replayed=True))
    assert publish.final and not publish.announce
    assert room.meeting is None


def test_replayed_history_in_private_is_ignored() -> None:
    room = started(Room())
    room.channel = None  # type: ignore[assignment]
    assert room.say("bob", "#startmeeting x", replayed=True) == []


def test_replayed_log_records_the_bots_lines_as_logged() -> None:
    log = parse_log(
        "20:01:10 <alice> #startmeeting heat\n"
        "20:01:11 <meetbot> Meeting started Wed Jan  9 20:01:10 2013 UTC.\n"
        "20:01:20 <alice> #chair bob\n"
        "20:01:21 <meetbot> Current chairs: alice bob\n"
        "20:01:30 <meetbot> #endmeeting\n"
    )
    events = to_events(
        log.lines,
        day=date(2013, 1, 9),
        tz=zone("UTC"),
        network="n",
        channel="#c",
        bot_nick="meetbot",
    )
    world = World()
    effects = [effect for event in events for effect in step(world, event)]
    recorded = [e.line for e in effects if isinstance(e, LineRecorded)]
    assert [(line.nick, line.text) for line in recorded] == [
        (line.nick, line.text) for line in log.lines
    ]  # every logged line once, the bot's replies only as logged
    meeting = world.network("n").channel("#c").meeting
    assert meeting is not None  # the bot's own `#endmeeting` is never obeyed
    assert [c.nick for c in meeting.all_chairs] == ["alice", "bob"]


def back_after_an_outage(
    room: Room, channel_topic: str = "Welcome", set_at: datetime | None = None
) -> None:
    room.feed(Disconnected("net", room.now, 900, "connection lost"))
    room.tick(60)
    room.join("meetbot")
    room.topic_is(channel_topic)
    if set_at is not None:  # RPL_TOPICWHOTIME tells the topic again, with its time
        room.topic_is(channel_topic, set_at)


def test_a_replayed_topic_still_standing_is_set_once_the_replay_is_over() -> None:
    """Live, the bot would have set the channel topic when the #topic was said; said while
    it was away, the topic is set once the replay shows it is still the latest."""
    room = started(Room())
    back_after_an_outage(room)
    assert topics(room.say("alice", "#topic first", replayed=True)) == []
    assert topics(room.say("alice", "#topic second", replayed=True)) == []
    assert room.say("bob", "plain", replayed=True)  # recorded, sets nothing
    assert topics(room.history_replayed()) == ["second (Meeting topic: heat)"]
    assert room.history_replayed() == []  # set once
    # a replayed #meetingtopic is set too, with the meeting's latest topic
    back_after_an_outage(room)
    room.say("alice", "#meetingtopic cooling", replayed=True)
    assert topics(room.history_replayed()) == ["second (Meeting topic: cooling)"]


def test_a_replayed_endmeeting_puts_back_the_topic() -> None:
    room = Room()
    room.members("alice", "meetbot")
    room.topic_is("Welcome")
    room.say("alice", "#startmeeting heat")
    room.say("alice", "#topic one")
    back_after_an_outage(room, "one (Meeting topic: heat)")
    room.say("alice", "#endmeeting", replayed=True)
    assert topics(room.history_replayed()) == ["Welcome"]


def test_a_replayed_topic_no_longer_standing_is_not_set() -> None:
    # a #topic said live after it (it came before the history did) stands instead
    room = started(Room())
    back_after_an_outage(room)
    assert topics(room.say("alice", "#topic live")) == ["live (Meeting topic: heat)"]
    room.say("alice", "#topic missed", replayed=True, after=-30)
    assert room.history_replayed() == []
    # the meeting lurks since
    room = started(Room())
    back_after_an_outage(room)
    room.say("alice", "#topic missed", replayed=True)
    room.say("alice", "#lurk", replayed=True)
    assert room.history_replayed() == []
    # the channel shows it already
    room = started(Room())
    back_after_an_outage(room, "missed (Meeting topic: heat)")
    room.say("alice", "#topic missed", replayed=True)
    assert room.history_replayed() == []
    # the channel does not take topics from the bot
    room = started(Room(settings=replace(DEFAULT_SETTINGS, set_channel_topic=False)))
    back_after_an_outage(room)
    room.say("alice", "#topic missed", replayed=True)
    assert room.history_replayed() == []


def test_a_replayed_topic_is_set_only_if_said_after_the_channel_topic_was_set() -> None:
    """A person may have set the channel topic by hand while the bot was away: the server
    tells when (RPL_TOPICWHOTIME), and the later of that and the replayed line stands."""

    def replayed_after(set_by_hand: float, said: float) -> list[Effect]:
        """What the replay's end brings: the channel topic set by hand and the `#topic`
        said these many seconds after the bot went away."""
        room = started(Room())
        away = room.now
        back_after_an_outage(room, "by hand", set_at=away + timedelta(seconds=set_by_hand))
        room.say("alice", "#topic missed", replayed=True, at=away + timedelta(seconds=said))
        return room.history_replayed()

    assert replayed_after(set_by_hand=30, said=20) == []
    # set by hand before the #topic was said: the #topic's stands
    assert topics(replayed_after(set_by_hand=10, said=20)) == ["missed (Meeting topic: heat)"]
    # in the same second (the server tells whole seconds), the person's stands
    assert replayed_after(set_by_hand=20, said=20.5) == []
    # set by hand while the history was coming in
    room = started(Room())
    away = room.now
    back_after_an_outage(room)  # when it was set is not told: the #topic's would stand
    room.say("alice", "#topic missed", replayed=True, at=away + timedelta(seconds=20))
    room.topic_is("by hand, just now", set_at=room.tick())
    assert room.history_replayed() == []
