"""The end-of-meeting lines come from the core, once the files they name are written."""

from __future__ import annotations

from bot.core.effects import Effect, Publish, Say
from bot.core.events import FilesPublished, TopicSeen, event_channel
from tests.corekit import Room

URL_BASE = "http://x.org/heat/2013/heat.2013-01-09-20.01"


def written(room: Room, publish: Publish) -> list[Effect]:
    return room.feed(
        FilesPublished(
            room.network,
            room.tick(),
            999_999,
            publish.meeting,
            URL_BASE,
            publish.final,
            publish.announce,
        )
    )


def publishes(effects: list[Effect]) -> list[Publish]:
    return [e for e in effects if isinstance(e, Publish)]


def test_files_of_an_ended_meeting_are_announced_in_its_channel() -> None:
    room = Room(channel="#heat")
    room.say("alice", "#startmeeting heat")
    (publish,) = publishes(room.say("alice", "#endmeeting"))
    assert written(room, publish) == [
        Say(
            "net",
            "#heat",
            "Meeting ended Wed Jan  9 20:01:12 2013 UTC.  Information about MeetBot at "
            "http://wiki.debian.org/MeetBot . (v 1.0.0)",
        ),
        Say("net", "#heat", f"Minutes:        {URL_BASE}.html"),
        Say("net", "#heat", f"Minutes (text): {URL_BASE}.txt"),
        Say("net", "#heat", f"Log:            {URL_BASE}.log.html"),
    ]


def test_a_save_and_a_lurking_meeting_announce_nothing() -> None:
    room = Room(channel="#heat")
    room.say("alice", "#startmeeting heat")
    (saved,) = publishes(room.say("alice", "#save"))
    assert written(room, saved) == []
    room.say("alice", "#lurk")
    (ended,) = publishes(room.say("alice", "#endmeeting"))
    assert ended.final and written(room, ended) == []


def test_the_files_and_the_topic_belong_to_their_channel() -> None:
    """What the engine logs a failure with: the channel of the files' meeting, and of a
    topic the server told."""
    room = Room(channel="#heat")
    effects = room.say("alice", "#startmeeting heat")
    effects += room.say("alice", "#endmeeting")
    [publish] = publishes(effects)
    done = FilesPublished(room.network, room.tick(), 1, publish.meeting, URL_BASE, True, ())
    topic = TopicSeen(room.network, room.tick(), 2, "#other", "a topic")
    assert (event_channel(done), event_channel(topic)) == ("#heat", "#other")
