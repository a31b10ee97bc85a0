"""Votes: opening, casting, re-voting, nick changes, closing, and #endmeeting closing them."""

from __future__ import annotations

from bot.core.effects import ItemRecorded, VoteChanged
from bot.core.events import NickChanged
from bot.core.votes import match_option, parse_vote
from tests.corekit import Room, published, said


def started() -> Room:
    room = Room()
    room.members("alice", "bob", "carol", "meetbot")
    room.say("alice", "#startmeeting heat")
    return room


def test_parse_vote() -> None:
    assert parse_vote("Release now? Yes, No") == ("Release now?", ("Yes", "No"))
    assert parse_vote("Release now?") == ("Release now?", ("Yes", "No"))
    assert parse_vote("Which one? +1 / -1 / 0") == ("Which one?", ("+1", "-1", "0"))
    assert parse_vote("Is A or B? Really? a b;c") == ("Is A or B? Really?", ("a", "b", "c"))
    assert parse_vote("Pick? x, X, y") == ("Pick?", ("x", "y"))
    assert parse_vote("no question mark") is None
    assert parse_vote("") is None
    assert parse_vote("?") is None
    assert match_option(" yes ", ("Yes", "No")) == "Yes"
    assert match_option("maybe", ("Yes", "No")) is None


def test_options_with_commas_are_split_on_commas_only() -> None:
    assert parse_vote("Which plan? Plan A, Plan B") == ("Which plan?", ("Plan A", "Plan B"))
    assert parse_vote("Lunch? \U0001f355 pizza,  \U0001f96a , sushi & rice,") == (
        "Lunch?",
        ("\U0001f355 pizza", "\U0001f96a", "sushi & rice"),
    )
    assert parse_vote("Pick? Plan  A, plan a, Plan B") == ("Pick?", ("Plan A", "Plan B"))
    assert parse_vote("Release? yes no") == ("Release?", ("yes", "no"))  # no comma: old rule
    assert parse_vote("Release? , ,") == ("Release?", ("Yes", "No"))
    assert match_option("plan   a", ("Plan A", "Plan B")) == "Plan A"
    assert match_option("plan", ("Plan A", "Plan B")) is None


def test_multi_word_options_are_offered_and_voted_for() -> None:
    room = started()
    assert said(room.say("alice", "#startvote Which plan? Plan A, Plan B, \u2764\ufe0f")) == [
        "Begin voting on: Which plan? Valid vote options are Plan A, Plan B, \u2764\ufe0f.",
        "Vote using '#vote OPTION'. Only your last vote counts.",
    ]
    assert said(room.say("bob", "#vote plan b")) == []
    assert said(room.say("carol", "#vote \u2764\ufe0f")) == []
    assert said(room.say("alice", "#vote Plan")) == [
        "alice: Plan is not a valid option. Valid options are Plan A, Plan B, \u2764\ufe0f."
    ]
    effects = room.say("alice", "#endvote")
    assert said(effects) == [
        'Voted on "Which plan?" Results are',
        "Plan B (1): bob",
        "\u2764\ufe0f (1): carol",
    ]
    (item,) = [e.item for e in effects if isinstance(e, ItemRecorded)]
    assert item.text == 'Voted on "Which plan?" Results are, Plan A: 0, Plan B: 1, \u2764\ufe0f: 1'


def test_startvote_replies_and_refusals() -> None:
    room = started()
    assert said(room.say("alice", "#startvote Release now? Yes, No")) == [
        "Begin voting on: Release now? Valid vote options are Yes, No.",
        "Vote using '#vote OPTION'. Only your last vote counts.",
    ]
    assert said(room.say("alice", "#startvote Other? a, b")) == ["Already voting on 'Release now?'"]
    room2 = started()
    assert said(room2.say("alice", "#startvote no question")) == [
        "Unable to parse vote topic and options."
    ]


def test_votes_last_one_counts_and_tally() -> None:
    room = started()
    room.say("alice", "#startvote Release now? Yes, No")
    assert said(room.say("alice", "#vote yes")) == []
    assert said(room.say("bob", "#vote No")) == []
    room.say("bob", "#vote YES")  # changes bob's vote
    assert said(room.say("carol", "#vote maybe")) == [
        "carol: maybe is not a valid option. Valid options are Yes, No."
    ]
    assert said(room.say("carol", "#showvote")) == ["Yes (2): alice, bob"]
    effects = room.say("alice", "#endvote")
    assert said(effects) == ['Voted on "Release now?" Results are', "Yes (2): alice, bob"]
    (item,) = [e.item for e in effects if isinstance(e, ItemRecorded)]
    assert item.kind == "vote"
    assert item.text == 'Voted on "Release now?" Results are, Yes: 2, No: 0'
    assert room.meeting is not None
    (vote,) = room.meeting.votes
    assert vote.closed_at is not None
    assert said(room.say("bob", "#vote No")) == []  # closed: nothing happens
    assert room.meeting.votes[0].to_record().count("No") == 0


def test_vote_follows_nick_change_so_it_cannot_be_cast_twice() -> None:
    room = started()
    room.say("alice", "#startvote Go? Yes, No")
    room.say("bob", "#vote Yes")
    room.tick()
    effects = room.feed(NickChanged("net", room.now, 9001, "bob", "bobby"))
    (changed,) = [e for e in effects if isinstance(e, VoteChanged)]
    assert [b.nick for b in changed.vote.ballots] == ["bobby"]
    room.say("bobby", "#vote No")
    assert room.meeting is not None
    vote = room.meeting.votes[0].to_record()
    assert [(b.nick, b.option) for b in vote.ballots] == [("bobby", "No")]


def test_vote_by_account_survives_nick_change() -> None:
    room = started()
    room.say("alice", "#startvote Go? Yes, No")
    room.say("bob", "#vote Yes", account="bobacct")
    room.say("bob_away", "#vote No", account="bobacct")
    assert room.meeting is not None
    vote = room.meeting.votes[0].to_record()
    assert [(b.nick, b.option) for b in vote.ballots] == [("bob_away", "No")]


def test_endmeeting_closes_an_open_vote_first() -> None:
    room = started()
    room.say("alice", "#startvote Go? Yes, No")
    room.say("bob", "#vote No")
    effects = room.say("alice", "#endmeeting")
    assert said(effects) == ['Voted on "Go?" Results are', "No (1): bob"]
    (publish,) = published(effects)
    (vote,) = publish.meeting.votes
    assert vote.closed_line == len(publish.meeting.lines) - 2  # the #endmeeting line
    assert publish.meeting.items[-1].text == 'Voted on "Go?" Results are, Yes: 0, No: 1'
    kinds = [type(e) for e in effects]
    assert kinds.index(VoteChanged) < kinds.index(type(publish))


def test_vote_commands_without_a_vote_are_quiet() -> None:
    room = started()
    assert said(room.say("bob", "#vote Yes")) == []
    assert said(room.say("bob", "#showvote")) == []
    assert said(room.say("alice", "#endvote")) == []


def test_non_chair_cannot_open_or_close_votes() -> None:
    room = started()
    assert said(room.say("bob", "#startvote Go? Yes, No")) == []
    room.say("alice", "#startvote Go? Yes, No")
    assert said(room.say("bob", "#endvote")) == []
    assert room.meeting is not None and room.meeting.open_vote is not None
