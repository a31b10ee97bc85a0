"""Chairs across nick changes, accounts, ops, joins and parts, and recording gaps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

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
from bot.core.state import Meeting, World
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


def chaired(nick: str) -> Room:
    """A meeting alice started in which she made `nick`, present but silent, a chair."""
    room = Room()
    room.members("alice", nick, "meetbot")  # NAMES: no accounts
    room.say("alice", "#startmeeting heat")
    room.say("alice", f"#chair {nick}")
    assert room.meeting is not None and room.meeting.chairs == [Chair(nick)]
    return room


def test_whox_accounts_bind_a_silent_chair() -> None:
    room = chaired("carol")
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


# --- binding a chair known only by nick ------------------------------------------------
#
# A chair named while their account is unknown is bound only from an account learned for
# the very person who held the nick when they were named (and has held it, or followed it
# across nick changes, ever since). Once that person is gone, whoever holds the nick next
# cannot be told from them: the chair stays what MeetBot made it, a nick.

Learn = Callable[[Room, str, str], None]


def by_notify(room: Room, nick: str, account: str) -> None:
    room.tick()
    room.feed(AccountChanged("net", room.now, 800, nick, account))


def by_whox(room: Room, nick: str, account: str) -> None:
    room.tick()
    room.feed(AccountsListed("net", room.now, 801, ((nick, account), ("alice", None))))


def by_tag(room: Room, nick: str, account: str) -> None:
    room.say(nick, "hello", account=account)


LEARN = [by_notify, by_whox, by_tag]


@pytest.mark.parametrize("learn", LEARN)
def test_the_named_chair_identifying_is_bound(learn: Learn) -> None:
    room = chaired("bob")
    room.feed(NickChanged("net", room.now, 802, "bob", "Robert"))  # the chair follows him
    learn(room, "robert", "bobacct")
    assert room.meeting is not None and room.meeting.chairs == [Chair("Robert", "bobacct")]


def bob_leaves_by_quit(room: Room) -> None:
    room.feed(Quit("net", room.now, 803, "bob", "ping timeout"))


def bob_leaves_by_part(room: Room) -> None:
    room.feed(Parted("net", room.now, 804, "#chan", "bob", "meetbot", "later"))


def bob_leaves_by_kick(room: Room) -> None:
    room.feed(Kicked("net", room.now, 805, "#chan", "bob", "alice", "meetbot", "spam"))


def stranger_joins(room: Room) -> None:
    room.join("bob")


def stranger_renames(room: Room) -> None:
    room.join("mallory")
    room.feed(NickChanged("net", room.now, 806, "mallory", "Bob"))


@pytest.mark.parametrize("learn", LEARN)
@pytest.mark.parametrize("leave", [bob_leaves_by_quit, bob_leaves_by_part, bob_leaves_by_kick])
@pytest.mark.parametrize("take", [stranger_joins, stranger_renames])
def test_a_stranger_who_takes_a_departed_chairs_nick_is_never_bound(
    learn: Learn, leave: Callable[[Room], None], take: Callable[[Room], None]
) -> None:
    room = chaired("bob")
    room.tick()
    leave(room)
    take(room)
    learn(room, "bob", "malloryacct")
    assert room.meeting is not None
    assert room.meeting.chairs == [Chair("bob")]  # still bob, by nick, as MeetBot has it
    # the stranger is no chair under another nick, and the real bob, back, is one
    assert said(room.say("mallory_", "#meetingname pwned", account="malloryacct")) == []
    room.tick()
    room.feed(Quit("net", room.now, 807, "bob", "caught"))
    room.join("bob")
    assert said(room.say("bob", "#meetingname real", account="bobacct")) != []
    assert room.meeting.chairs == [Chair("bob")]  # nothing says he is the bob named
    # a chair naming him again vouches for him: then he is bound
    assert said(room.say("alice", "#chair bob")) == ["Current chairs: alice bob"]
    assert room.meeting.chairs == [Chair("bob", "bobacct")]
    assert said(room.say("bob_", "#meetingname again", account="bobacct")) != []


def test_a_chair_named_in_absence_is_bound_to_nobody_who_turns_up() -> None:
    room = Room()
    room.members("alice", "meetbot")
    room.say("alice", "#startmeeting heat")
    room.say("alice", "#chair bob")  # not here: a nick, nobody yet
    room.join("bob")
    by_notify(room, "bob", "malloryacct")
    by_tag(room, "bob", "malloryacct")
    assert room.meeting is not None and room.meeting.chairs == [Chair("bob")]


@pytest.mark.parametrize("learn", LEARN)
def test_after_the_bot_was_away_no_chair_is_bound(learn: Learn) -> None:
    """The bot did not see who held a nick while it was away: the WHOX it asks on its
    return describes whoever holds it now."""
    room = chaired("bob")
    room.feed(Disconnected("net", room.now, 808, "connection lost"))
    room.join("meetbot")
    room.members("alice", "bob", "meetbot")
    learn(room, "bob", "malloryacct")
    assert room.meeting is not None and room.meeting.chairs == [Chair("bob")]
    # nor after a restart
    restored = Room(world=World(), now=room.now)
    restored.world.restore([chaired("bob").meeting.to_record()])  # type: ignore[union-attr]
    restored.members("alice", "bob", "meetbot")
    learn(restored, "bob", "malloryacct")
    assert restored.meeting is not None and restored.meeting.chairs == [Chair("bob")]


def test_replayed_history_binds_no_chair() -> None:
    """Replayed lines were said before the bot was back: neither the account tag of one nor
    the account the nick named in one has now is that of the person then."""
    room = Room()
    room.members("alice", Member("bob", account="malloryacct"), "meetbot")
    room.say("alice", "#startmeeting heat")
    room.say("alice", "#chair bob", replayed=True)
    assert room.meeting is not None and room.meeting.chairs == [Chair("bob")]
    room.say("bob", "said while the bot was away", account="bobacct", replayed=True)
    assert room.meeting.chairs == [Chair("bob")]
    assert room.world.network("net").channel("#chan").members["bob"].account == "malloryacct"


def test_a_nick_the_bot_sees_taken_anew_is_no_longer_held() -> None:
    """Nobody joins, or changes to, a nick they already hold: if the bot sees it, the
    person it knew under that nick left unseen (its member list was out of date)."""
    for take in (stranger_joins, stranger_renames):
        room = chaired("bob")
        take(room)
        by_notify(room, "bob", "malloryacct")
        assert room.meeting is not None and room.meeting.chairs == [Chair("bob")]
    room = chaired("bob")
    room.say("alice", "#unchair bob")
    room.say("alice", "#chair bob")
    by_notify(room, "bob", "bobacct")
    assert room.meeting is not None and room.meeting.chairs == [Chair("bob", "bobacct")]


# --- the owner, after the bot was away ------------------------------------------------
#
# The owner is held like any chair known only by nick, and let go in the same way: after
# the bot was away (or restarted) nobody can tell whether the nick changed hands meanwhile.
# A chair naming the owner again, while present, vouches for whoever holds the nick, as
# for any chair; naming never replaces the owner by someone else.


def owner_by_notify(room: Room, account: str) -> None:
    by_notify(room, "alice", account)


def owner_by_whox(room: Room, account: str) -> None:
    room.tick()
    room.feed(AccountsListed("net", room.now, 809, (("alice", account), ("bob", None))))


def owner_by_tag(room: Room, account: str) -> None:
    by_tag(room, "alice", account)


OWNER_LEARN = [owner_by_notify, owner_by_whox, owner_by_tag]


def back_after_an_outage(restart: bool) -> Room:
    """`chaired_bob` after the bot was disconnected (or restarted) and is back."""
    room = chaired("bob")
    if restart:
        record = room.meeting.to_record()  # type: ignore[union-attr]
        room = Room(world=World(), now=room.now)
        room.world.restore([record])
    else:
        room.feed(Disconnected("net", room.now, 810, "connection lost"))
        room.join("meetbot")
    room.members("alice", "bob", "meetbot")
    return room


@pytest.mark.parametrize("restart", [False, True])
@pytest.mark.parametrize("learn", OWNER_LEARN)
def test_a_chair_naming_the_owner_again_lets_the_owner_be_bound(
    learn: Callable[[Room, str], None], restart: bool
) -> None:
    room = back_after_an_outage(restart)
    learn(room, "aliceacct")  # whoever holds `alice` now: the bot cannot tell who that is
    assert room.meeting is not None and room.meeting.owner == Chair("alice")
    assert said(room.say("bob", "#chair alice")) == ["Current chairs: alice bob"]
    assert room.meeting.owner == Chair("alice", "aliceacct")  # the account known: bound
    assert room.meeting.chairs == [Chair("bob")]  # the owner is never a chair besides
    # alice leaves, and a stranger taking her nick is not the owner
    room.tick()
    room.feed(Quit("net", room.now, 811, "alice", "bye"))
    room.join("alice", account="malloryacct")
    assert published(room.say("alice", "#endmeeting", account="malloryacct")) == []
    assert published(room.say("alice_", "#endmeeting", account="aliceacct")) != []


@pytest.mark.parametrize("learn", OWNER_LEARN)
def test_the_owner_named_again_before_identifying_is_bound_when_they_do(
    learn: Callable[[Room, str], None],
) -> None:
    room = back_after_an_outage(restart=False)
    effects = room.say("bob", "#chair alice")  # another chair vouches for the owner
    assert said(effects) == ["Current chairs: alice bob"]
    learn(room, "aliceacct")
    assert room.meeting is not None and room.meeting.owner == Chair("alice", "aliceacct")
    assert room.meeting.chairs == [Chair("bob")]


def test_the_owner_is_bound_only_by_a_chair_naming_them_while_present() -> None:
    room = back_after_an_outage(restart=False)
    room.tick()
    room.feed(Quit("net", room.now, 812, "alice", "bye"))
    # named while absent: the owner stays a nick, and nobody becomes a chair besides
    assert said(room.say("bob", "#chair alice")) == [
        "Warning: Nick not in channel: alice",
        "Current chairs: alice bob",
    ]
    room.join("alice")
    owner_by_notify(room, "malloryacct")
    assert room.meeting is not None
    assert room.meeting.owner == Chair("alice") and room.meeting.chairs == [Chair("bob")]
    # nor does a replayed `#chair alice` bind the owner
    room.say("bob", "#chair alice", replayed=True)
    owner_by_tag(room, "malloryacct")
    assert room.meeting.owner == Chair("alice") and room.meeting.chairs == [Chair("bob")]
    # a chair naming the one who holds `alice` now vouches for them, as for any chair
    room.say("bob", "#chair alice")
    assert room.meeting.owner == Chair("alice", "malloryacct")
    # once bound, the owner is never bound again to someone else
    room.tick()
    room.feed(Quit("net", room.now, 813, "alice", "bye"))
    room.join("alice", account="aliceacct")
    room.say("bob", "#chair alice")
    assert room.meeting.owner == Chair("alice", "malloryacct")


@pytest.mark.parametrize("learn", OWNER_LEARN)
def test_nobody_vouches_for_themselves(learn: Callable[[Room, str], None]) -> None:
    """Whoever took the nick of a chair known only by nick is that chair by nick; naming
    themselves must not bind the chair (the owner, or any other) to their own account."""
    room = back_after_an_outage(restart=False)
    room.tick()
    room.feed(Quit("net", room.now, 812, "alice", "bye"))
    room.join("alice")  # someone else, on the owner's nick
    room.say("alice", "#chair alice")
    learn(room, "malloryacct")
    assert room.meeting is not None and room.meeting.owner == Chair("alice")
    # Likewise for a chair: bob leaves, a stranger takes `bob` and names himself.
    room.tick()
    room.feed(Quit("net", room.now, 814, "bob", "bye"))
    room.join("bob")
    room.say("bob", "#chair bob")
    by_notify(room, "bob", "malloryacct")
    assert Chair("bob") in room.meeting.chairs
