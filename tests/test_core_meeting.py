"""Every command's effect and exact replies, fed through the core as channel lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core import messages
from bot.core.effects import (
    ItemRecorded,
    ItemRemoved,
    LineRecorded,
    MeetingChanged,
    MeetingEnded,
    MeetingStarted,
    Say,
)
from bot.core.events import ChannelSettings, Member
from bot.core.limits import ERROR, INFO, Answer, ReplyLimiter
from bot.core.names import FEDORA
from bot.core.step import COMMANDS
from bot.core.timefmt import zone
from tests.corekit import Room, published, said, topics

START_LINES = [
    "Meeting started Wed Jan  9 20:01:11 2013 UTC and is due to finish in 60 minutes.  "
    "The chair is alice. Information about MeetBot at http://wiki.debian.org/MeetBot.",
    "Useful Commands: #action #agreed #help #info #idea #link #topic #startvote.",
    "The meeting name has been set to 'heat'",
]


def started(room: Room | None = None, name: str = "heat") -> Room:
    room = room or Room()
    room.members("alice", "bob", "carol", "meetbot")
    room.say("alice", f"#startmeeting {name}")
    return room


def test_startmeeting_replies_three_lines_and_records() -> None:
    room = Room()
    effects = room.say("alice", "#startmeeting heat")
    assert said(effects) == START_LINES
    assert isinstance(effects[0], MeetingStarted)
    meeting = room.meeting
    assert meeting is not None
    assert meeting.name == "heat" and meeting.topic == "heat" and meeting.owner.nick == "alice"
    # the command line and the three replies are recorded, in that order
    assert [line.nick for line in meeting.lines] == ["alice", "meetbot", "meetbot", "meetbot"]
    assert meeting.lines[0].text == "#startmeeting heat"


def test_startmeeting_name_is_sanitised_topic_kept() -> None:
    room = Room()
    effects = room.say("alice", "#startmeeting Solum Team Meeting")
    assert said(effects)[-1] == "The meeting name has been set to 'solum_team_meeting'"
    assert room.meeting is not None and room.meeting.topic == "Solum Team Meeting"


def test_startmeeting_needs_a_name() -> None:
    room = Room()
    assert said(room.say("alice", "#startmeeting")) == [messages.NAME_REQUIRED]
    assert room.meeting is None


def test_startmeeting_while_running_is_refused_each_time() -> None:
    room = started()
    refusal = "Error: Can't start another meeting, one is in progress.  Use #endmeeting first."
    assert said(room.say("bob", "#startmeeting other")) == [refusal]
    assert said(room.say("bob", "#startmeeting other", after=2)) == [refusal]  # a second mistake
    assert room.meeting is not None and room.meeting.name == "heat"


def test_every_mistake_is_answered_and_running_out_is_said_once() -> None:
    room = started()
    room.say("alice", "#startvote Release now? Yes, No")
    invalid = "bob: maybe is not a valid option. Valid options are Yes, No."
    too_many = "bob: too many commands; I will answer again in a minute"
    replies = [said(room.say("bob", "#vote maybe", after=2)) for _ in range(8)]
    assert replies == [[invalid]] * 5 + [[too_many]] + [[]] * 2
    assert room.meeting is not None
    told = [line.text for line in room.meeting.lines if line.nick == "meetbot"]
    assert told.count(too_many) == 1  # recorded like any reply
    assert said(room.say("carol", "#vote maybe")) != []  # others are not affected
    assert said(room.say("bob", "#startmeeting x")) == []  # out of errors, told already
    assert said(room.say("bob", "#vote maybe", after=61)) == [invalid]


def test_running_out_in_private_is_said_once() -> None:
    from bot.core.events import MessageSeen

    room = Room()
    replies = []
    for n in range(7):
        room.tick()
        event = MessageSeen("net", room.now, 500 + n, None, "alice", "#startmeeting x", "meetbot")
        replies.append(said(room.feed(event)))
    assert replies == [["Meetings can only be held in channels."]] * 5 + [
        ["alice: too many commands; I will answer again in a minute"],
        [],
    ]


def test_the_limiter_answers_replies_then_tells_once_a_minute() -> None:
    limiter = ReplyLimiter()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def answers(kind: str, at: datetime, count: int) -> list[Answer]:
        return [limiter.answer("net", "bob", kind, at) for _ in range(count)]

    assert answers(INFO, t0, 5) == [Answer.REPLY] * 3 + [Answer.TELL, Answer.SILENT]
    # Told once a minute whatever the kind; each kind has its own allowance.
    assert answers(ERROR, t0, 6) == [Answer.REPLY] * 5 + [Answer.SILENT]
    assert answers(INFO, t0 + timedelta(seconds=60), 4) == [Answer.REPLY] * 3 + [Answer.TELL]


def test_startmeeting_in_private_is_refused() -> None:
    room = Room()
    from bot.core.events import MessageSeen

    effects = room.feed(
        MessageSeen("net", room.now, 99, None, "alice", "#startmeeting x", "meetbot")
    )
    assert effects == [Say("net", "alice", "Meetings can only be held in channels.")]


def test_startmeetingfoo_is_an_ordinary_line() -> None:
    room = Room()
    assert room.say("alice", "#startmeetingfoo") == []
    assert room.meeting is None
    started(room)
    assert room.meeting is not None


def test_outside_a_meeting_lines_are_not_stored() -> None:
    room = Room()
    assert room.say("alice", "hello") == []
    assert room.say("alice", "#topic x") == []
    assert room.say("alice", "https://example.org") == []


def test_commands_lists_every_word_sorted_even_outside_a_meeting() -> None:
    room = Room()
    (line,) = said(room.say("bob", "#commands"))
    assert line == "Available commands: " + " ".join(f"#{w}" for w in sorted(COMMANDS))
    assert "#startmeeting" in line and "#halp" in line and "#accept" in line


def test_endmeeting_ends_records_and_publishes() -> None:
    room = started()
    effects = room.say("alice", "#endmeeting")
    assert said(effects) == []  # the end lines follow once the files are written
    ends = [e for e in effects if isinstance(e, MeetingEnded)]
    assert len(ends) == 1
    (publish,) = published(effects)
    assert publish.final and publish.announce
    assert publish.meeting.end == room.now
    assert publish.meeting.lines[-1].text == "#endmeeting"
    assert room.meeting is None


def test_end_lines_name_the_files() -> None:
    room = started()
    (publish,) = published(room.say("alice", "#endmeeting"))
    lines = messages.meeting_ended(
        publish.meeting.end or room.now,
        zone("UTC"),
        publish.meeting.info_url,
        "1.0.0",
        "http://x.org/heat/2013/heat.2013-01-09-20.01",
    )
    assert lines == (
        "Meeting ended Wed Jan  9 20:01:12 2013 UTC.  Information about MeetBot at "
        "http://wiki.debian.org/MeetBot . (v 1.0.0)",
        "Minutes:        http://x.org/heat/2013/heat.2013-01-09-20.01.html",
        "Minutes (text): http://x.org/heat/2013/heat.2013-01-09-20.01.txt",
        "Log:            http://x.org/heat/2013/heat.2013-01-09-20.01.log.html",
    )


def test_non_chair_cannot_end_until_the_meeting_overran() -> None:
    room = started()
    assert published(room.say("bob", "#endmeeting")) == []
    assert room.meeting is not None
    assert published(room.say("bob", "#endmeeting", after=60 * 60)) != []
    assert room.meeting is None


def test_late_end_respects_the_channel_length() -> None:
    room = started(Room(settings=ChannelSettings(meeting_length_minutes=5)))
    assert published(room.say("bob", "#endmeeting", after=4 * 60)) == []
    assert published(room.say("bob", "#endmeeting", after=2 * 60)) != []


def test_topic_records_item_and_sets_channel_topic() -> None:
    room = started()
    effects = room.say("alice", "#topic Review action items")
    assert topics(effects) == ["Review action items (Meeting topic: heat)"]
    items = [e.item for e in effects if isinstance(e, ItemRecorded)]
    assert [(i.kind, i.text, i.nick) for i in items] == [("topic", "Review action items", "alice")]
    assert items[0].line == len(room.meeting.lines) if room.meeting else False


def test_topic_without_channel_topic_setting() -> None:
    room = started(Room(settings=ChannelSettings(set_channel_topic=False)))
    effects = room.say("alice", "#topic x")
    assert topics(effects) == []
    assert any(isinstance(e, ItemRecorded) for e in effects)


def test_meetingtopic_sets_and_clears() -> None:
    room = started()
    room.say("alice", "#meetingtopic Heat weekly")
    assert room.meeting is not None and room.meeting.topic == "Heat weekly"
    assert topics(room.say("alice", "#topic a")) == ["a (Meeting topic: Heat weekly)"]
    room.say("alice", "#meetingtopic none")
    assert room.meeting.topic is None
    assert topics(room.say("alice", "#topic b")) == ["b"]
    room.say("alice", "#meetingtopic x")
    room.say("alice", "#meetingtopic UNSET")
    assert room.meeting.topic is None


def test_meetingtopic_updates_the_channel_topic_as_topic_does() -> None:
    room = started()
    assert topics(room.say("alice", "#meetingtopic Heat weekly")) == ["Heat weekly"]
    room.say("alice", "#topic Reviews")
    assert topics(room.say("alice", "#meetingtopic Heat monthly")) == [
        "Reviews (Meeting topic: Heat monthly)"
    ]
    assert topics(room.say("alice", "#meetingtopic none")) == ["Reviews"]
    assert topics(room.say("bob", "#meetingtopic not a chair")) == []
    room.say("alice", "#lurk")
    assert topics(room.say("alice", "#meetingtopic quiet")) == []
    quiet = started(Room(settings=ChannelSettings(set_channel_topic=False)))
    assert topics(quiet.say("alice", "#meetingtopic Heat weekly")) == []


def in_channel(room: Room, topic: str) -> Room:
    """The bot has joined and the server told the channel's topic (none when empty)."""
    room.join("meetbot")
    if topic:
        room.topic_is(topic)
    return started(room)


def test_endmeeting_restores_the_channel_topic_saved_at_start() -> None:
    room = in_channel(Room(), "Welcome to #chan | next meeting Thursday")
    room.topic_is("someone else's topic, said during the meeting")
    assert topics(room.say("alice", "#topic Reviews")) == ["Reviews (Meeting topic: heat)"]
    room.topic_is("Reviews (Meeting topic: heat)")  # the server relays the bot's change
    assert topics(room.say("alice", "#endmeeting")) == ["Welcome to #chan | next meeting Thursday"]


def test_topic_restored_even_before_the_change_came_back() -> None:
    room = in_channel(Room(), "Welcome")
    room.say("alice", "#topic Reviews")
    assert topics(room.say("alice", "#endmeeting")) == ["Welcome"]
    cleared = in_channel(Room(), "")  # no topic at the start: cleared at the end
    cleared.say("alice", "#topic Reviews")
    assert topics(cleared.say("alice", "#endmeeting")) == [""]


def test_topic_left_alone_when_unchanged_unknown_or_not_ours_to_set() -> None:
    untouched = in_channel(Room(), "Welcome")
    assert topics(untouched.say("alice", "#endmeeting")) == []
    unknown = started()  # the bot never saw itself join: the topic is not known
    unknown.say("alice", "#topic Reviews")
    assert topics(unknown.say("alice", "#endmeeting")) == []
    off = in_channel(Room(settings=ChannelSettings(set_channel_topic=False)), "Welcome")
    off.say("alice", "#topic Reviews")
    off.topic_is("changed by hand")
    assert topics(off.say("alice", "#endmeeting")) == []
    lurking = in_channel(Room(), "Welcome")
    lurking.say("alice", "#topic Reviews")
    lurking.say("alice", "#lurk")
    assert topics(lurking.say("alice", "#endmeeting")) == []


def test_saved_topic_survives_a_restart() -> None:
    room = in_channel(Room(), "Welcome")
    room.say("alice", "#topic Reviews")
    assert room.meeting is not None
    record = room.meeting.to_record()
    assert record.saved_topic == "Welcome"
    after = Room(now=room.now)
    after.world.restore([record])
    after.join("meetbot")
    after.topic_is("Reviews (Meeting topic: heat)")
    assert topics(after.say("alice", "#endmeeting")) == ["Welcome"]


def test_meetingname_replies_with_sanitised_name() -> None:
    room = started()
    assert said(room.say("alice", "#meetingname Hyper-V Team")) == [
        "The meeting name has been set to 'hyper_v_team'"
    ]
    assert room.meeting is not None and room.meeting.name == "hyper_v_team"


def test_fedora_channels_keep_hyphens_in_meeting_names() -> None:
    room = Room(channel="#fedora-meeting", settings=ChannelSettings(meeting_names=FEDORA))
    assert said(room.say("alice", "#startmeeting F36-Blocker Review"))[-1] == (
        "The meeting name has been set to 'f36-blocker_review'"
    )
    assert said(room.say("alice", "#meetingname Fedora-FR")) == [
        "The meeting name has been set to 'fedora-fr'"
    ]
    assert room.meeting is not None and room.meeting.name == "fedora-fr"


def test_non_chairs_change_nothing_and_hear_nothing() -> None:
    room = started()
    assert room.meeting is not None
    chair_only = [w for w, c in COMMANDS.items() if c.who.name == "CHAIR"]
    assert len(chair_only) == 18  # 15 words and 3 aliases; #endmeeting has its own rule
    for word in chair_only:
        effects = room.say("bob", f"#{word} Release? Yes, No" if "vote" in word else f"#{word} x")
        kinds = {type(e) for e in effects}
        assert kinds == {LineRecorded}, word
    assert room.meeting.name == "heat" and room.meeting.items == []
    assert room.meeting.votes == [] and not room.meeting.lurking


def test_chair_warns_about_absent_nicks_then_lists_sorted() -> None:
    room = started()
    effects = room.say("alice", "#chair bob, zed dave")
    assert said(effects) == [
        "Warning: Nick not in channel: zed",
        "Warning: Nick not in channel: dave",
        "Current chairs: alice bob dave zed",
    ]
    assert any(isinstance(e, MeetingChanged) for e in effects)
    # a new chair may now use chair commands
    assert published(room.say("bob", "#endmeeting")) != []


def test_chair_with_no_arguments_lists_chairs() -> None:
    room = started()
    assert said(room.say("alice", "#chair")) == ["Current chairs: alice"]


def test_unchair_never_removes_the_owner() -> None:
    room = started()
    room.say("alice", "#chair bob carol")
    assert said(room.say("bob", "#unchair alice carol")) == ["Current chairs: alice bob"]
    assert said(room.say("alice", "#unchair bob")) == ["Current chairs: alice"]
    assert room.say("bob", "#topic x")[1:] == []


def test_chaired_and_nicked_people_are_present() -> None:
    room = started()
    room.say("alice", "#chair carol")
    room.say("bob", "#nick dave, erin")
    assert room.meeting is not None
    assert [n.nick for n in room.meeting.named] == ["carol", "dave", "erin"]
    room.say("alice", "#nick carol")  # already present: not named twice
    assert len(room.meeting.named) == 3


def test_items_of_every_kind_and_alias() -> None:
    room = started()
    cases = {
        "#action bob to write docs": "action",
        "#info all done": "info",
        "#idea x": "idea",
        "#help need reviewers": "help",
        "#halp please": "help",
        "#link https://example.org docs": "link",
        "#agreed ship it": "agreed",
        "#agree ship": "agreed",
        "#accepted a": "accepted",
        "#accept b": "accepted",
        "#rejected c": "rejected",
        "#reject d": "rejected",
        "https://review.example.org/123": "link",
    }
    for text, kind in cases.items():
        effects = room.say("alice", text)
        (item,) = [e.item for e in effects if isinstance(e, ItemRecorded)]
        assert item.kind == kind, text
    assert room.meeting is not None
    links = [i for i in room.meeting.items if i.kind == "link"]
    assert [i.url for i in links] == ["https://example.org", "https://review.example.org/123"]


def test_anyone_may_add_open_items_but_not_decisions() -> None:
    room = started()
    assert any(isinstance(e, ItemRecorded) for e in room.say("bob", "#action bob does x"))
    assert not any(isinstance(e, ItemRecorded) for e in room.say("bob", "#agreed x"))


def test_empty_items_are_not_recorded() -> None:
    room = started()
    assert not any(isinstance(e, ItemRecorded) for e in room.say("alice", "#action"))
    assert not any(isinstance(e, ItemRecorded) for e in room.say("alice", "#topic   "))


def test_action_lines_are_recorded_never_commands() -> None:
    room = started()
    effects = room.say("bob", "#endmeeting", action=True)
    assert [type(e) for e in effects] == [LineRecorded]
    assert effects[0].line.kind == "action"  # type: ignore[union-attr]


def test_undo_says_what_it_removed_and_never_the_start() -> None:
    room = started()
    room.say("alice", "#link http://example.org/")
    room.say("alice", "#action bob to write docs")
    effects = room.say("alice", "#undo")
    assert said(effects) == ["Removing item from minutes: #action bob to write docs"]
    assert any(isinstance(e, ItemRemoved) for e in effects)
    assert said(room.say("alice", "#undo")) == [
        "Removing item from minutes: #link http://example.org/"
    ]
    assert said(room.say("alice", "#undo")) == []
    assert room.meeting is not None and room.meeting.lines[0].text == "#startmeeting heat"
    assert published(room.say("alice", "#endmeeting")) != []


def test_save_publishes_without_ending() -> None:
    room = started()
    (publish,) = published(room.say("alice", "#save"))
    assert not publish.final and publish.meeting.end is None
    assert room.meeting is not None


def test_lurk_silences_replies_and_topics_but_records() -> None:
    room = started()
    room.say("alice", "#lurk")
    effects = room.say("alice", "#topic quiet")
    assert topics(effects) == []
    assert any(isinstance(e, ItemRecorded) for e in effects)
    assert said(room.say("alice", "#chair bob")) == []
    (publish,) = published(room.say("alice", "#endmeeting"))
    assert not publish.announce
    room2 = started()
    room2.say("alice", "#lurk")
    room2.say("alice", "#unlurk")
    assert said(room2.say("alice", "#chair")) == ["Current chairs: alice"]


def test_restrictlogs() -> None:
    room = started()
    assert said(room.say("alice", "#restrictlogs")) == [
        "Restricting permissions on minutes: -0o77 on next #save"
    ]
    (publish,) = published(room.say("alice", "#save"))
    assert publish.meeting.restricted


def test_bot_replies_recorded_unless_the_server_echoes_them() -> None:
    room = started(Room(echo=True))
    assert room.meeting is not None
    assert [line.nick for line in room.meeting.lines] == ["alice"]
    room.say("meetbot", "Useful Commands: ...")  # the echo arrives as a message
    assert [line.nick for line in room.meeting.lines] == ["alice", "meetbot"]
    # the bot's own lines are never obeyed
    room.say("meetbot", "#endmeeting")
    assert room.meeting is not None


def test_ops_count_as_chairs_when_allowed() -> None:
    room = started()
    room.members("alice", Member("opal", op=True), "bob")
    assert said(room.say("opal", "#meetingname x")) == ["The meeting name has been set to 'x'"]
    room2 = started(Room(settings=ChannelSettings(ops_are_chairs=False)))
    room2.members("alice", Member("opal", op=True))
    assert said(room2.say("opal", "#meetingname x")) == []


def test_informational_replies_are_limited_per_person() -> None:
    room = started()
    replies = [said(room.say("bob", "#commands", after=0.1)) for _ in range(10)]
    assert sum(1 for r in replies if r) == 4  # three answers, then the notice once
    assert replies[3] == ["bob: too many commands; I will answer again in a minute"]
    assert said(room.say("carol", "#commands")) != []  # others are not affected
    assert said(room.say("bob", "#commands", after=61)) != []


def test_time_zone_changes_the_times_not_just_the_label() -> None:
    room = Room(settings=ChannelSettings(timezone=zone("Europe/Prague")))
    (first, *_) = said(room.say("alice", "#startmeeting heat"))
    assert first.startswith("Meeting started Wed Jan  9 21:01:11 2013 CET ")
    assert room.meeting is not None and room.meeting.timezone == "Europe/Prague"


def test_two_meetings_in_two_channels_at_once() -> None:
    a = started(Room(channel="#a"), "alpha")
    b = Room(world=a.world, channel="#b", now=a.now)
    b.members("bob")
    b.say("bob", "#startmeeting beta")
    a.say("alice", "#topic in a")
    b.say("bob", "#topic in b")
    assert a.meeting is not None and b.meeting is not None
    assert a.meeting.id != b.meeting.id
    assert [i.text for i in a.meeting.items] == ["in a"]
    assert [i.text for i in b.meeting.items] == ["in b"]
    assert published(a.say("bob", "#endmeeting")) == []  # bob chairs only #b
    assert published(b.say("bob", "#endmeeting")) != []
    assert a.meeting is not None and b.meeting is None


def test_same_channel_name_on_two_networks_is_two_meetings() -> None:
    a = started(Room(network="oftc"))
    b = started(Room(world=a.world, network="libera"))
    assert a.meeting is not None and b.meeting is not None and a.meeting is not b.meeting
    a.say("alice", "#endmeeting")
    assert a.meeting is None and b.meeting is not None


def test_meeting_times_use_event_time_only() -> None:
    room = started()
    before = room.now
    room.say("alice", "#topic x", after=30)
    assert room.meeting is not None
    assert room.meeting.items[-1].time == before + timedelta(seconds=30)


def test_a_chairs_replies_are_capped_but_changes_still_apply() -> None:
    room = started()  # the start's reply is the first of alice's ten this minute
    replies = [said(room.say("alice", f"#meetingname n{i}", after=0.5)) for i in range(15)]
    assert sum(1 for r in replies if r) == 10  # nine answers, then the notice once
    assert replies[9] == ["alice: too many commands; I will answer again in a minute"]
    assert room.meeting is not None and room.meeting.name == "n14"
