"""Who receives a meeting's minutes by email: the global list, the channel's `announce_to`
and the addresses of the meeting's series. Pure: settings and records in, `Announce`
effects out; the records come from the core, fed with lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.announce import compose
from bot.archive.series import SeriesAliases
from bot.config_loader import parse_settings
from bot.core.effects import Announce, Publish
from bot.core.record import MeetingRecord
from bot.followup import where
from bot.settings import AnnounceSettings, EmailSettings, Settings
from tests.corekit import Room

NOW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
SHARED = "#openstack-meeting"
HEAT = ("heat-team@example.org",)
NOVA = ("nova@lists.example.org", "ptl@example.org")
ALIASES = SeriesAliases({"heat_team": "heat"})


def email(to: tuple[str, ...] = ("list@example.org",)) -> EmailSettings:
    series = {"heat": HEAT, "nova": NOVA}
    return EmailSettings("127.0.0.1", "g@example.org", 25, "none", to=to, series=series)


def ended(name: str, channel: str = SHARED, *renamed: str, restrict: bool = False) -> MeetingRecord:
    room = Room(channel=channel)
    room.members("alice", "bob", "meetbot")
    room.say("alice", f"#startmeeting {name}")
    for other in renamed:
        room.say("alice", f"#meetingname {other}")
    if restrict:
        room.say("alice", "#restrictlogs")
    room.say("bob", "hello")
    [publish] = [e for e in room.say("alice", "#endmeeting") if isinstance(e, Publish)]
    return publish.meeting


def mailed(settings: AnnounceSettings, meeting: MeetingRecord, place: compose.Where) -> list[str]:
    """The addresses the minutes email goes to ([] when none is sent)."""
    got = compose.meeting_completed(settings, meeting, place, "u", "minutes", NOW)
    mails = [a for a in got if a.receiver == compose.EMAIL]
    assert len(mails) <= 1
    return [str(a) for a in json.loads(mails[0].payload)["to"]] if mails else []


def shared(public: bool = True, series_to: tuple[str, ...] = HEAT) -> compose.Where:
    return compose.Where("net", SHARED, public, ("meeting-room@example.org",), series_to)


def test_a_public_meeting_goes_to_the_global_channel_and_series_lists_in_that_order() -> None:
    settings = AnnounceSettings(email=email())
    assert mailed(settings, ended("heat"), shared()) == [
        "list@example.org",
        "meeting-room@example.org",
        "heat-team@example.org",
    ]
    # only a series list: the meeting still goes out, to that list
    alone = AnnounceSettings(email=email(to=()))
    place = compose.Where("net", SHARED, True, (), NOVA)
    assert mailed(alone, ended("nova"), place) == list(NOVA)


def test_private_and_restricted_meetings_never_reach_a_series_list() -> None:
    settings = AnnounceSettings(email=email())
    # a private channel, or #restrictlogs: `public` is False, and only announce_to is left
    assert mailed(settings, ended("heat"), shared(public=False)) == ["meeting-room@example.org"]
    bare = compose.Where("net", "#heat-private", False, (), HEAT)
    assert mailed(settings, ended("heat", "#heat-private"), bare) == []


def test_where_finds_the_series_and_keeps_it_from_private_and_restricted_meetings() -> None:
    config = settings_with_series()
    announce = config.announce

    def to(meeting: MeetingRecord) -> list[str]:
        place = where(config, "net", meeting.channel, meeting.restricted, meeting.name)
        return mailed(announce, meeting, place)

    assert to(ended("heat")) == ["list@example.org", "heat-team@example.org"]
    assert to(ended("heat", "#Heat-Private")) == ["private@example.org"]
    restricted = ended("heat", restrict=True)
    assert restricted.restricted and to(restricted) == []
    # without a meeting name (the start, a success) no series is looked up
    assert where(config, "net", SHARED).series_to == ()


def settings_with_series() -> Settings:
    return parse_settings(
        {
            "networks": [
                {
                    "name": "net",
                    "host": "127.0.0.1",
                    "channels": [
                        SHARED,
                        {
                            "name": "#heat-private",
                            "private": True,
                            "announce_to": ["private@example.org"],
                        },
                    ],
                }
            ],
            "output": {"private_dir": "./private"},
            "archive": {"aliases": {"heat": ["heat_team"]}},
            "announce": {
                "email": {
                    "host": "127.0.0.1",
                    "security": "none",
                    "from": "Gavel <g@example.org>",
                    "to": ["list@example.org"],
                    "series": {"Heat": list(HEAT), "nova": list(NOVA)},
                }
            },
        }
    )


def test_a_series_is_found_through_its_aliases_and_without_case() -> None:
    mail = email()
    assert compose.series_addresses(mail, ALIASES, "heat") == HEAT
    assert compose.series_addresses(mail, ALIASES, "heat_team") == HEAT  # an old name
    assert compose.series_addresses(mail, ALIASES, "HEAT_Team") == HEAT
    assert compose.series_addresses(mail, ALIASES, "Nova") == NOVA
    assert compose.series_addresses(mail, ALIASES, "heat-team") == ()  # not an alias
    assert compose.series_addresses(mail, ALIASES, "glance") == ()
    assert compose.series_addresses(None, ALIASES, "heat") == ()  # no email at all
    # the configuration's spelling of a name is folded the same way
    config = settings_with_series()
    assert config.announce.email is not None
    assert dict(config.announce.email.series) == {"heat": HEAT, "nova": NOVA}


def test_a_renamed_meeting_goes_to_the_series_of_its_last_name() -> None:
    config = settings_with_series()
    meeting = ended("nova", SHARED, "glance", "heat_team")
    assert meeting.name == "heat_team"
    place = where(config, "net", SHARED, meeting.restricted, meeting.name)
    assert place.series_to == HEAT
    assert mailed(config.announce, meeting, place) == ["list@example.org", *HEAT]


def test_an_address_in_several_lists_is_mailed_once_as_first_written() -> None:
    settings = AnnounceSettings(email=email(to=("list@example.org", "Heat-Team@Example.org")))
    place = compose.Where(
        "net",
        SHARED,
        True,
        ("room@example.org", "LIST@example.org", "room@example.org"),
        ("heat-team@example.org", "room@example.org", "heat-ptl@example.org"),
    )
    assert mailed(settings, ended("heat"), place) == [
        "list@example.org",
        "Heat-Team@Example.org",
        "room@example.org",
        "heat-ptl@example.org",
    ]
    private = compose.Where("net", SHARED, False, ("a@example.org", "A@example.org"))
    assert mailed(settings, ended("heat"), private) == ["a@example.org"]


def test_no_addresses_at_all_sends_no_email() -> None:
    settings = AnnounceSettings(email=email(to=()))
    assert mailed(settings, ended("glance"), compose.Where("net", SHARED, True)) == []
    # a series list of its own does not reach a meeting of another series
    assert mailed(settings, ended("glance"), shared(series_to=())) == ["meeting-room@example.org"]


def test_the_same_completion_composed_again_is_the_same_delivery() -> None:
    config = settings_with_series()
    meeting = ended("heat_team")
    place = where(config, "net", SHARED, False, meeting.name)

    def mail() -> Announce:
        got = compose.meeting_completed(config.announce, meeting, place, "u", "t", NOW)
        [email] = [a for a in got if a.receiver == compose.EMAIL]
        return email

    first, again = mail(), mail()
    assert first == again  # the same outbox row, the same Message-ID
    assert json.loads(first.payload)["message_id"] == f"<{first.delivery_id}@gavel>"
    # which lists receive it is no part of its identity: a repeat after the configuration
    # changed is still recognised as the same announcement
    other = compose.meeting_completed(
        config.announce, meeting, compose.Where("net", SHARED, True), "u", "t", NOW
    )
    assert [a.delivery_id for a in other if a.receiver == compose.EMAIL] == [first.delivery_id]
