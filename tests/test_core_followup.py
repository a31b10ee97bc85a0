"""#success, #thanks and #previous in the core: lines in, effects out."""

from __future__ import annotations

from dataclasses import replace

from bot.core.effects import LineRecorded, LookUpPrevious, SuccessRecorded
from bot.core.events import ChannelSettings, PreviousFound
from bot.core.record import PreviousMeeting, Success
from tests.corekit import Room, said

URLS = ChannelSettings(
    successes_url="https://m.example.org/successes", thanks_url="https://m.example.org/thanks"
)


def room(settings: ChannelSettings = URLS) -> Room:
    r = Room(settings=settings)
    r.members("alice", "bob", "meetbot")
    return r


def successes(effects: list[object]) -> list[Success]:
    return [e.success for e in effects if isinstance(e, SuccessRecorded)]


def test_success_outside_a_meeting_is_recorded_before_the_reply() -> None:
    r = room()
    effects = r.say("alice", "#success Nova gate is green again", account="alice-acct")
    assert said(effects) == [
        "alice: Added success to Success page (https://m.example.org/successes)"
    ]
    assert isinstance(effects[0], SuccessRecorded)  # persisted before the Say is carried out
    [s] = successes(effects)
    assert (s.kind, s.nick, s.account, s.channel, s.network) == (
        "success",
        "alice",
        "alice-acct",
        "#chan",
        "net",
    )
    assert s.text == "Nova gate is green again" and s.time == r.now and s.meeting_id is None


def test_thanks_reply_is_statusbots() -> None:
    r = room()
    effects = r.say("bob", "#thanks alice for fixing the gate")
    assert said(effects) == ["bob: Added your thanks to Thanks page (https://m.example.org/thanks)"]
    [s] = successes(effects)
    assert s.kind == "thanks" and s.text == "alice for fixing the gate"


def test_success_inside_a_meeting_is_a_log_line_and_no_item() -> None:
    r = room()
    r.say("alice", "#startmeeting heat")
    effects = r.say("bob", "#success we shipped")
    meeting = r.meeting
    assert meeting is not None
    [s] = successes(effects)
    assert s.meeting_id == meeting.id
    assert meeting.items == []
    logged = [e.line.text for e in effects if isinstance(e, LineRecorded)]
    assert logged == [
        "#success we shipped",
        "bob: Added success to Success page (https://m.example.org/successes)",
    ]


def test_empty_text_is_a_usage_error_limited_like_every_error() -> None:
    r = room()
    assert said(r.say("alice", "#success")) == ["Usage: #success TEXT"]
    for _ in range(4):  # five error replies per person per minute
        assert said(r.say("alice", "#thanks   ")) == ["Usage: #thanks TEXT"]
    too_many = "alice: too many commands; I will answer again in a minute"
    assert said(r.say("alice", "#thanks   ")) == [too_many]  # told once
    assert said(r.say("alice", "#success")) == []
    assert said(r.say("alice", "#thanks", after=61)) == ["Usage: #thanks TEXT"]
    assert successes(r.say("bob", "#success")) == []


def test_one_accepted_per_person_per_minute() -> None:
    r = room()
    assert len(successes(r.say("alice", "#success one"))) == 1
    refused = r.say("alice", "#thanks two", after=30)
    too_many = "alice: too many commands; I will answer again in a minute"
    assert successes(refused) == [] and said(refused) == [too_many]  # told once a minute
    again = r.say("alice", "#success two again")
    assert successes(again) == [] and said(again) == []
    assert len(successes(r.say("bob", "#success his own"))) == 1  # per person
    assert len(successes(r.say("alice", "#success three", after=31))) == 1


def test_text_is_capped_at_400_characters() -> None:
    r = room()
    [s] = successes(r.say("alice", "#success " + "x" * 500))
    assert s.text == "x" * 400


def test_lurking_records_but_does_not_reply() -> None:
    r = room()
    r.say("alice", "#startmeeting heat")
    r.say("alice", "#lurk")
    effects = r.say("bob", "#success quiet win")
    assert said(effects) == [] and len(successes(effects)) == 1
    assert said(r.say("bob", "#previous")) == []
    assert not [e for e in r.say("alice", "#previous") if isinstance(e, LookUpPrevious)]


def test_channel_that_switched_it_off_ignores_all_three() -> None:
    r = room(replace(URLS, followup=False))
    assert r.say("alice", "#success nothing") == []
    assert r.say("alice", "#success") == []
    r.say("alice", "#startmeeting heat", after=61)
    effects = r.say("bob", "#previous")
    assert said(effects) == [] and not [e for e in effects if isinstance(e, LookUpPrevious)]
    effects = r.say("bob", "#thanks in a meeting")
    assert successes(effects) == [] and said(effects) == []
    assert [type(e) for e in effects] == [LineRecorded]  # still an ordinary line of the log


def test_private_messages_are_not_successes() -> None:
    from bot.core.events import MessageSeen

    r = room()
    effects = r.feed(MessageSeen("net", r.now, 999_001, None, "alice", "#success x", "meetbot"))
    assert effects == []


# --- #previous -------------------------------------------------------------------------


def ask_previous(r: Room, nick: str = "bob") -> tuple[list[object], LookUpPrevious | None]:
    effects = r.say(nick, "#previous")
    looks = [e for e in effects if isinstance(e, LookUpPrevious)]
    return effects, (looks[0] if looks else None)


def answer(r: Room, look: LookUpPrevious, found: PreviousMeeting | None) -> list[object]:
    return r.feed(
        PreviousFound(
            look.network,
            look.time,
            1,
            look.channel,
            look.meeting_id,
            "heat",
            found,
            look.bot_nick,
        )
    )


def test_previous_asks_the_store_and_answers_with_ten_actions_and_the_rest_counted() -> None:
    r = room()
    r.say("alice", "#startmeeting heat")
    effects, look = ask_previous(r)
    assert said(effects) == [] and look is not None
    meeting = r.meeting
    assert meeting is not None
    assert (look.meeting_id, look.meeting_name, look.before) == (meeting.id, "heat", meeting.start)
    found = PreviousMeeting(
        "http://x/heat.2013-01-02-20.01.html", "2013-01-02", tuple(f"a{i}" for i in range(12))
    )
    replies = answer(r, look, found)
    assert said(replies) == [
        "Previous heat meeting: http://x/heat.2013-01-02-20.01.html (2013-01-02)",
        "Action items from it:",
        *[f"* a{i}" for i in range(10)],
        "… and 2 more in the minutes",
    ]
    # the answer goes into the log like every bot line
    assert [line.text for line in meeting.lines][-13:] == said(replies)


def test_previous_with_no_actions_and_with_none_found() -> None:
    r = room()
    r.say("alice", "#startmeeting heat")
    _, look = ask_previous(r)
    assert look is not None
    assert said(answer(r, look, PreviousMeeting("u", "2013-01-02", ()))) == [
        "Previous heat meeting: u (2013-01-02)",
        "There were no action items.",
    ]
    _, look = ask_previous(r, "alice")
    assert look is not None
    assert said(answer(r, look, None)) == ["No previous heat meeting found."]
    ten = PreviousMeeting("u", "d", tuple("abcdefghij"))
    _, look = ask_previous(r, "alice")
    assert look is not None
    assert said(answer(r, look, ten))[-1] == "* j"  # exactly ten: no "more" line


def test_previous_counts_as_an_informational_reply() -> None:
    r = room()
    r.say("alice", "#startmeeting heat")
    asked = [ask_previous(r)[1] for _ in range(4)]
    assert [a is not None for a in asked] == [True, True, True, False]
    assert ask_previous(r, "alice")[1] is not None


def test_previous_outside_a_meeting_does_nothing() -> None:
    r = room()
    assert r.say("bob", "#previous") == []


def test_an_answer_for_a_meeting_that_ended_is_dropped() -> None:
    r = room()
    r.say("alice", "#startmeeting heat")
    _, look = ask_previous(r)
    r.say("alice", "#endmeeting")
    assert look is not None and answer(r, look, None) == []


def test_previous_at_start_follows_the_start_replies() -> None:
    plain = room()
    plain_effects = plain.say("alice", "#startmeeting heat")
    r = room(replace(URLS, previous_at_start=True))
    effects = r.say("alice", "#startmeeting heat")
    assert said(effects) == said(plain_effects)  # the start replies stay as they are
    assert isinstance(effects[-1], LookUpPrevious)
    assert not [e for e in plain_effects if isinstance(e, LookUpPrevious)]


def test_replayed_history_asks_nothing_and_hears_no_answer() -> None:
    r = room(replace(URLS, previous_at_start=True))
    started = r.say("alice", "#startmeeting heat", replayed=True)
    assert r.meeting is not None  # history still changes the meeting
    assert said(started) == [] and not [e for e in started if isinstance(e, LookUpPrevious)]
    for _ in range(4):  # nor does it use up anyone's allowance
        effects = r.say("bob", "#previous", replayed=True)
        assert said(effects) == [] and not [e for e in effects if isinstance(e, LookUpPrevious)]
    asked = [ask_previous(r)[1] for _ in range(3)]
    assert all(a is not None for a in asked)
    # a success said while the bot was away is kept, and not answered
    effects = r.say("bob", "#success replayed win", replayed=True)
    assert said(effects) == [] and len(successes(effects)) == 1
