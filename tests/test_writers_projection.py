"""The minutes' view model: topics and items, actions by person, and attendance."""

from __future__ import annotations

from bot.core.record import LINE_ACTION, Chair, Named
from bot.writers.projection import (
    Attendee,
    PersonActions,
    actions_by_person,
    attendees,
    project,
    summary,
    title,
)
from tests.example_meeting import RECORD, item, meeting, said


def test_example_projection() -> None:
    minutes = project(RECORD)
    assert minutes.title == "#openstack-meeting: heat"
    assert [b.topic.text if b.topic else None for b in minutes.summary] == [
        "Review action items",
        "Open discussion",
    ]
    assert [len(b.items) for b in minutes.summary] == [4, 1]
    assert [a.text for a in minutes.actions] == ["bob to write docs"]
    assert minutes.actions_by_person == (PersonActions("bob", minutes.actions),)
    assert minutes.attendees == (Attendee("alice", 9), Attendee("meetbot", 7), Attendee("bob", 3))


def test_title_without_topic() -> None:
    assert title(meeting(topic=None)) == "#openstack-meeting Meeting"


def test_items_before_the_first_topic_come_first_without_topic() -> None:
    items = (
        item(1, "info", "early"),
        item(2, "topic", "First"),
        item(3, "idea", "later"),
        item(4, "topic", "Empty"),
    )
    blocks = summary(items)
    assert [(b.topic, [i.text for i in b.items]) for b in blocks] == [
        (None, ["early"]),
        (items[1], ["later"]),
        (items[3], []),
    ]


def test_no_items_no_blocks() -> None:
    assert summary(()) == ()


def _owners(texts: list[str], people: tuple[str, ...]) -> list[tuple[str | None, list[str]]]:
    actions = tuple(item(n, "action", t) for n, t in enumerate(texts, start=1))
    return [
        (p.nick, [a.text for a in p.actions]) for p in actions_by_person(actions, people, "rfc1459")
    ]


def test_action_belongs_to_whole_word_nicks_only() -> None:
    assert _owners(["jonathan to review"], ("jon", "jonathan")) == [
        ("jonathan", ["jonathan to review"])
    ]
    assert _owners(["ask jon-b and jon_ about it"], ("jon",)) == [
        (None, ["ask jon-b and jon_ about it"])
    ]


def test_action_matching_is_case_insensitive_and_uses_the_case_mapping() -> None:
    assert _owners(["BOB and [Dev] to fix"], ("bob", "{dev}")) == [
        ("bob", ["BOB and [Dev] to fix"]),
        ("{dev}", ["BOB and [Dev] to fix"]),
    ]


def test_punctuation_around_nicks_still_matches() -> None:
    assert _owners(["alice's patch, bob: review (carol)"], ("alice", "bob", "carol")) == [
        ("alice", ["alice's patch, bob: review (carol)"]),
        ("bob", ["alice's patch, bob: review (carol)"]),
        ("carol", ["alice's patch, bob: review (carol)"]),
    ]


def test_nick_with_odd_characters_matches_as_a_whole() -> None:
    assert _owners(["ping j.doe today", "ping j.doex"], ("j.doe",)) == [
        ("j.doe", ["ping j.doe today"]),
        (None, ["ping j.doex"]),
    ]


def test_people_sorted_case_insensitively_unassigned_last_and_only_with_actions() -> None:
    texts = ["zed to a", "nobody to b", "Amy to c", "zed and amy to d"]
    assert _owners(texts, ("zed", "Amy", "idle")) == [
        ("Amy", ["Amy to c", "zed and amy to d"]),
        ("zed", ["zed to a", "zed and amy to d"]),
        (None, ["nobody to b"]),
    ]


def test_a_single_unassigned_action_is_listed() -> None:
    assert _owners(["someone to do it"], ("alice",)) == [(None, ["someone to do it"])]


def test_attendees_count_the_bot_and_fold_case_keeping_first_spelling() -> None:
    record = meeting(
        lines=said(("Alice", "hi"), ("meetbot", "hello"), ("alice", "again"), ("ALICE", "x")),
        named=(),
        chairs=(Chair("alice"),),
    )
    assert attendees(record) == (Attendee("Alice", 3), Attendee("meetbot", 1))


def test_attendee_ties_go_by_first_appearance_named_people_included() -> None:
    record = meeting(
        lines=said(("carol", "a"), ("bob", "b"), ("alice", "c"), ("bob", "d", LINE_ACTION)),
        named=(Named("dave", 2), Named("erin", 1), Named("Carol", 3)),
        chairs=(Chair("alice"), Chair("frank")),
    )
    assert attendees(record) == (
        Attendee("bob", 2),
        Attendee("carol", 1),
        Attendee("alice", 1),
        Attendee("erin", 0),
        Attendee("dave", 0),
        Attendee("frank", 0),
    )


def test_named_people_can_own_actions() -> None:
    record = meeting(
        lines=said(("alice", "#nick dave"), ("alice", "#action dave to write it")),
        named=(Named("dave", 1),),
        items=(item(2, "action", "dave to write it"),),
    )
    assert [p.nick for p in project(record).actions_by_person] == ["dave"]
