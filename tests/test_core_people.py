"""Chairs across nick changes, accounts, ops, joins and parts, and recording gaps."""

from __future__ import annotations

from datetime import timedelta

from bot.core.effects import GapRecorded, LineRecorded, MeetingChanged, PresenceRecorded
from bot.core.events import (
    AccountChanged,
    AccountsListed,
    Disconnected,
    Kicked,
    Member,
    NickChanged,
    OpChanged,
    Parted,
    Quit,
    ServerInfo,
)
from bot.core.record import Chair
from bot.core.state import Meeting
from tests.corekit import Room, published, said


def test_chair_follows_nick_change() -> None:
    room = Room()
    room.members("alice", "bob", "meetbot")
    room.say("alice", "#startmeeting heat")
    room.say("alice", "#chair bob")
    room.tick()
    effects = room.feed(NickChanged("net", room.now, 501, "bob", "robert"))
    # persisted, so a restart still knows robert is a chair
    (changed,) = [e for e in effects if isinstance(e, MeetingChanged)]
    assert [c.nick for c in changed.chairs] == ["alice", "robert"]
    assert said(room.say("robert", "#chair")) == ["Current chairs: alice robert"]
    assert said(room.say("bob", "#meetingname stolen")) == []  # the old nick is nobody


def test_chairs_are_matched_with_the_case_mapping() -> None:
    room = Room()
    room.members("Alice[m]", "meetbot")
    room.say("Alice[m]", "#startmeeting heat")
    assert said(room.say("alice{M}", "#meetingname x")) == ["The meeting name has been set to 'x'"]
    room.feed(ServerInfo("net", room.now, 502, "ascii"))
    assert said(room.say("alice{M}", "#meetingname y")) == []
    assert said(room.say("ALICE[m]", "#meetingname z")) == ["The meeting name has been set to 'z'"]


def test_account_bound_chair_cannot_be_impersonated() -> None:
    room = Room()
    room.members(Member("alice", account="alice"), Member("bob", account="bob"), "meetbot")
    room.say("alice", "#startmeeting heat", account="alice")
    room.say("alice", "#chair bob", account="alice")
    assert room.meeting is not None
    assert [c.account for c in room.meeting.all_chairs] == ["alice", "bob"]
    # bob leaves; a stranger takes his nick
    room.tick()
    room.feed(Quit("net", room.now, 503, "bob", "bye"))
    room.join("bob", account="mallory")
    assert said(room.say("bob", "#meetingname pwned", account="mallory")) == []
    assert said(room.say("bob", "#meetingname pwned")) == []  # no account: not bob either
    assert room.meeting.name == "heat"
    # the real bob, back under another nick, is still a chair
    assert said(room.say("bob_", "#meetingname real", account="bob")) == [
        "The meeting name has been set to 'real'"
    ]


def test_account_known_from_join_binds_chair() -> None:
    room = Room()
    room.members("alice", "meetbot")
    room.join("carol", account="carolacct")
    room.say("alice", "#startmeeting heat")
    room.say("alice", "#chair carol")
    assert room.meeting is not None
    assert room.meeting.chairs[0].account == "carolacct"
    room.tick()
    room.feed(AccountChanged("net", room.now, 504, "carol", None))
    assert said(room.say("carol", "#meetingname x")) == []


def test_op_given_and_taken() -> None:
    room = Room()
    room.members("alice", "opal", "meetbot")
    room.say("alice", "#startmeeting heat")
    assert said(room.say("opal", "#meetingname a")) == []
    room.feed(OpChanged("net", room.now, 505, "#chan", "opal", True, "alice"))
    assert said(room.say("opal", "#meetingname b")) == ["The meeting name has been set to 'b'"]
    room.feed(OpChanged("net", room.now, 506, "#chan", "opal", False, "alice"))
    assert said(room.say("opal", "#meetingname c")) == []


def test_membership_events_are_recorded_as_presence() -> None:
    room = Room()
    room.members("alice", "bob", "meetbot")
    room.say("alice", "#startmeeting heat")
    room.join("carol")
    room.feed(NickChanged("net", room.now, 507, "carol", "caz"))
    room.feed(Parted("net", room.now, 508, "#chan", "caz", "meetbot", "later"))
    room.feed(Kicked("net", room.now, 509, "#chan", "bob", "alice", "meetbot", "spam"))
    effects = room.feed(Quit("net", room.now, 510, "alice", "gone"))
    assert [type(e) for e in effects] == [PresenceRecorded]
    assert room.meeting is not None
    assert [(p.kind, p.nick) for p in room.meeting.presence] == [
        ("join", "carol"),
        ("nick", "carol"),
        ("part", "caz"),
        ("kick", "bob"),
        ("quit", "alice"),
    ]
    assert said(room.say("alice", "#chair zed")) == [
        "Warning: Nick not in channel: zed",
        "Current chairs: alice zed",
    ]


def test_disconnect_then_rejoin_records_a_gap() -> None:
    room = Room()
    room.members("alice", "meetbot")
    room.say("alice", "#startmeeting heat")
    lost = room.now
    room.feed(Disconnected("net", lost, 511, "connection lost"))
    room.tick(42)
    effects = room.join("meetbot")
    gaps = [e.gap for e in effects if isinstance(e, GapRecorded)]
    assert len(gaps) == 1
    assert gaps[0].start == lost and gaps[0].end == lost + timedelta(seconds=43)
    assert gaps[0].reason == "connection lost"
    # the meeting simply goes on
    assert published(room.say("alice", "#endmeeting")) != []


def test_back_in_the_channel_the_bot_says_what_is_missing() -> None:
    resumed = (
        "Recording again: I was away from 20:01:11 to 20:01:59 UTC; "
        "lines said meanwhile are missing from the log."
    )
    room = Room()
    room.members("alice", "meetbot")
    room.say("alice", "#startmeeting heat")
    room.feed(Disconnected("net", room.now, 513, "restart"))
    room.tick(47)
    effects = room.join("meetbot")
    assert said(effects) == [resumed]
    # not a line of the log, which shows the gap at its place
    assert not any(isinstance(e, LineRecorded) for e in effects)
    assert said(room.join("meetbot")) == []  # no gap, nothing to say
    echoed = Room(echo=True)  # the server relays the line back: not recorded from there
    echoed.members("alice", "meetbot")
    echoed.say("alice", "#startmeeting heat")
    echoed.feed(Disconnected("net", echoed.now, 514, "restart"))
    (text,) = said(echoed.join("meetbot"))
    assert not any(isinstance(e, LineRecorded) for e in echoed.say("meetbot", text))
    assert any(isinstance(e, LineRecorded) for e in echoed.say("meetbot", "a later reply"))
    lurking = Room()
    lurking.members("alice", "meetbot")
    lurking.say("alice", "#startmeeting heat")
    lurking.say("alice", "#lurk")
    lurking.feed(Disconnected("net", lurking.now, 515, "restart"))
    effects = lurking.join("meetbot")
    assert said(effects) == [] and any(isinstance(e, GapRecorded) for e in effects)


def test_kicked_bot_records_gap_until_rejoin() -> None:
    room = Room()
    room.members("alice", "meetbot")
    room.say("alice", "#startmeeting heat")
    room.feed(Kicked("net", room.now, 512, "#chan", "meetbot", "alice", "meetbot", "oops"))
    effects = room.join("meetbot")
    (gap,) = [e.gap for e in effects if isinstance(e, GapRecorded)]
    assert gap.reason == "kicked by alice"
    # joining again without having left is no gap
    assert not any(isinstance(e, GapRecorded) for e in room.join("meetbot"))


def test_restored_meeting_continues() -> None:
    from bot.core.state import World

    room = Room()
    room.members("alice", "bob", "meetbot")
    room.say("alice", "#startmeeting heat")
    room.say("alice", "#chair bob")
    room.say("alice", "#startvote Go? Yes, No")
    room.say("bob", "#vote Yes")
    room.say("alice", "#action bob to write docs")
    assert room.meeting is not None
    record = room.meeting.to_record()
    # a new process: the world is rebuilt from the stored record
    fresh = Room(world=World(), now=room.now)
    fresh.world.restore([record])
    fresh.members("alice", "bob", "meetbot")
    fresh.say("bob", "#vote No")
    assert said(fresh.say("bob", "#showvote")) == ["No (1): bob"]
    assert said(fresh.say("bob", "#chair")) == ["Current chairs: alice bob"]
    (publish,) = published(fresh.say("bob", "#endmeeting"))
    assert publish.meeting.lines[: len(record.lines)] == record.lines
    assert publish.meeting.items[0].text == "bob to write docs"


def test_account_bound_chair_keeps_its_name_current_across_nick_changes() -> None:
    room = Room()
    room.members(Member("alice", account="alice"), Member("bob", account="bob"), "meetbot")
    room.say("alice", "#startmeeting heat", account="alice")
    room.say("alice", "#chair bob", account="alice")
    room.feed(NickChanged("net", room.now, 520, "bob", "bob_lunch"))
    assert said(room.say("alice", "#chair", account="alice")) == ["Current chairs: alice bob_lunch"]
    # an impostor renaming to a bound chair's old nick does not rename the chair
    room.feed(Quit("net", room.now, 521, "alice", ""))
    room.join("mallory", account="mallory")
    room.feed(NickChanged("net", room.now, 522, "mallory", "alice"))
    assert room.meeting is not None
    assert [c.nick for c in room.meeting.all_chairs] == ["alice", "bob_lunch"]
    assert said(room.say("alice", "#meetingname x", account="mallory")) == []


def test_whox_accounts_bind_a_silent_chair() -> None:
    room = Room()
    room.members("alice", "carol", "meetbot")  # NAMES: no accounts
    room.say("alice", "#startmeeting heat")
    room.say("alice", "#chair carol")
    assert room.meeting is not None and room.meeting.chairs == [Chair("carol")]
    room.tick()
    listed = AccountsListed("net", room.now, 700, (("alice", None), ("CAROL", "carolacct")))
    (changed,) = [e for e in room.feed(listed) if isinstance(e, MeetingChanged)]
    assert changed.chairs == (Chair("alice"), Chair("carol", "carolacct"))
    # carol, silent all along, leaves; a stranger takes the nick and is refused
    room.tick()
    room.feed(Quit("net", room.now, 701, "carol", "bye"))
    room.join("carol")
    assert said(room.say("carol", "#chair mallory")) == []
    assert [c.nick for c in room.meeting.all_chairs] == ["alice", "carol"]
    assert said(room.say("carol", "#chair dave", account="carolacct")) != []  # carol is back


def test_a_chair_who_identifies_later_is_bound() -> None:
    room = Room()
    room.members("alice", "bob", "meetbot")
    room.say("alice", "#startmeeting heat")
    room.say("alice", "#chair bob")
    room.tick()
    effects = room.feed(AccountChanged("net", room.now, 710, "Bob", "bobacct"))
    assert [e.chairs for e in effects if isinstance(e, MeetingChanged)] == [
        (Chair("alice"), Chair("bob", "bobacct"))
    ]
    room.tick()
    room.feed(AccountChanged("net", room.now, 711, "alice", "aliceacct"))  # the owner too
    assert room.meeting is not None and room.meeting.owner == Chair("alice", "aliceacct")
    room.tick()
    room.feed(AccountChanged("net", room.now, 712, "bob", None))  # logging out unbinds nothing
    room.tick()
    room.feed(Quit("net", room.now, 713, "bob", "bye"))
    room.join("bob")
    assert said(room.say("bob", "#chair mallory")) == []
    assert said(room.say("alice", "#chair", account="aliceacct")) == ["Current chairs: alice bob"]


def test_a_bound_owner_survives_a_restart() -> None:
    room = Room()
    room.members("alice", "meetbot")
    room.say("alice", "#startmeeting heat")
    room.tick()
    room.feed(AccountChanged("net", room.now, 720, "alice", "aliceacct"))
    assert room.meeting is not None
    restored = Meeting.from_record(room.meeting.to_record())
    assert restored.owner == Chair("alice", "aliceacct") and restored.chairs == []
