"""An archive for the web tests: meetings said through the real core and kept by the real
store in a SQLite file, with public, restricted, private, running and hostile meetings."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import html5lib
from aiohttp.test_utils import TestClient

from bot.archive.series import build_aliases
from bot.core.effects import GapRecorded
from bot.core.events import ChannelSettings
from bot.core.record import Gap
from bot.settings import (
    ArchiveSettings,
    ChannelConfig,
    Identity,
    NetworkConfig,
    OutputSettings,
    Settings,
    StorageSettings,
    WebSettings,
)
from bot.store import Store
from tests.corekit import Room
from tests.corpus import corpus_lines

NETWORK = "net"
PWN_PAYLOADS = (
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 1">',
    "\"><svg onload='window.__pwned=1'>",
    "javascript:window.__pwned=1",
    '<a href="javascript:window.__pwned=1">x</a> <link rel=stylesheet href=//evil.example/x.css>',
    "<img src=https://evil.example/pixel.png> <iframe src=//evil.example/></iframe>",
)


@dataclass
class Archive:
    path: Path
    settings: Settings
    heat: list[int]  # oldest first
    nova: list[int]  # meetings named nova_team then nova: one series by alias
    running: int
    restricted: int
    private: int
    hostile: int
    legacy_private: int  # in a channel now configured private, recorded as not private


def settings_for(db: Path, out: Path) -> Settings:
    aliases, problems = build_aliases({"nova": ["nova_team"]})
    assert not problems
    output = OutputSettings(dir=out, url_prefix="http://127.0.0.1:8080/meetings/")
    return Settings(
        identity=Identity(nick="meetbot"),
        networks=(
            NetworkConfig(
                name=NETWORK,
                host="127.0.0.1",
                channels=(
                    ChannelConfig("#chan"),
                    ChannelConfig("#secret", private=True),
                ),
            ),
        ),
        output=output,
        storage=StorageSettings(db),
        archive=ArchiveSettings(aliases),
        web=WebSettings(title="Test meetings"),
    )


def _room(channel: str, start: datetime, *, private: bool = False) -> Room:
    return Room(
        network=NETWORK,
        channel=channel,
        now=start,
        settings=ChannelSettings(private=private),
    )


async def _meeting(
    store: Store,
    channel: str,
    start: datetime,
    name: str,
    said: list[tuple[str, str]],
    *,
    end: bool = True,
    private: bool = False,
) -> int:
    room = _room(channel, start, private=private)
    await store.apply(room.say("alice", f"#startmeeting {name}"))
    meeting = room.meeting
    assert meeting is not None
    for nick, text in said:
        await store.apply(room.say(nick, text))
    if end:
        await store.apply(room.say("alice", "#endmeeting"))
    return meeting.id


def heat_lines(n: int) -> list[tuple[str, str]]:
    return [
        ("alice", f"#topic Review number {n}"),
        ("bob", "hello, everyone"),
        ("bob", f"#action bob to write docs {n}"),
        ("carol", "#info the release is https://example.org/release"),
        ("carol", "#idea keep it small"),
        ("alice", "#agreed ship it"),
        ("dave", "alice: sounds good"),
        ("eve", "#link https://example.org/plan the plan"),
    ]


async def build_archive(tmp: Path, heat_count: int = 3) -> Archive:
    db = tmp / "gavel.sqlite3"
    settings = settings_for(db, tmp / "meetings")
    store = await Store.open(db)
    try:
        heat = [
            await _meeting(
                store, "#chan", datetime(2024, 5, 1 + i, 14, tzinfo=UTC), "heat", heat_lines(i)
            )
            for i in range(heat_count)
        ]
        nova = [
            await _meeting(
                store, "#chan", datetime(2023, 1, 2, 9, tzinfo=UTC), "nova_team", heat_lines(90)
            ),
            await _meeting(
                store, "#chan", datetime(2024, 6, 3, 9, tzinfo=UTC), "nova", heat_lines(91)
            ),
        ]
        restricted = await _meeting(
            store,
            "#chan",
            datetime(2024, 5, 20, 10, tzinfo=UTC),
            "hidden",
            [("alice", "#restrictlogs"), ("bob", "secret plans"), ("bob", RESTRICTED_SUCCESS)],
        )
        private = await _meeting(
            store,
            "#secret",
            datetime(2024, 5, 21, 10, tzinfo=UTC),
            "cabal",
            [("bob", "#info the cabal meets"), ("bob", "#success the cabal prevailed")],
            private=True,
        )
        legacy_private = await _meeting(
            store,
            "#Secret",
            datetime(2022, 3, 4, 10, tzinfo=UTC),
            "cabal",
            [("bob", "#info an old cabal meeting"), ("bob", "#thanks the old cabal")],
        )
        texts = [raw.decode("utf-8", errors="replace") for raw in corpus_lines()]
        hostile_said = [("mallory", f"#topic {PWN_PAYLOADS[0]}")]
        hostile_said += [("mallory", f"#success {PWN_PAYLOADS[0]} {PWN_PAYLOADS[1]}")]
        hostile_said += [("mallory", f"#info {p}") for p in PWN_PAYLOADS]
        hostile_said += [("mallory", f"#action {p}") for p in PWN_PAYLOADS]
        hostile_said += [("mallory", p) for p in PWN_PAYLOADS]
        hostile_said += [("mallory", t) for t in texts if t.strip() and not t.startswith("#")]
        hostile = await _meeting(
            store, "#chan", datetime(2024, 5, 22, 10, tzinfo=UTC), "hostile", hostile_said
        )
        running = await _meeting(
            store,
            "#chan",
            datetime(2024, 7, 1, 10, tzinfo=UTC),
            "heat",
            [("alice", "#topic Live topic"), ("bob", "still going")],
            end=False,
        )
        await _between_meetings(store)
        # Searchable as publishing makes them (restricted and private ones stay out); one
        # meeting also has its files' name, so its results link to its published log too.
        await store.reserve_file_base(nova[1], NOVA_FILES)
        for mid in [*heat, *nova, restricted, private, legacy_private, hostile]:
            await store.index_meeting(mid)
    finally:
        await store.close()
    return Archive(db, settings, heat, nova, running, restricted, private, hostile, legacy_private)


RESTRICTED_SUCCESS = "#success restricted work went well"
NOVA_FILES = "nova/2024/nova.2024-06-03-09.00"
# Said outside meetings, oldest first: (channel, time, nick, text). The first two fall on the
# days of heat[0] and heat[1]; the third on a day without a meeting; the last in a channel
# the configuration does not list.
BETWEEN = (
    ("#chan", datetime(2024, 5, 1, 18, tzinfo=UTC), "carol", "#success the gate is green again"),
    ("#chan", datetime(2024, 5, 2, 20, tzinfo=UTC), "dave", "#thanks bob for the docs"),
    ("#chan", datetime(2024, 8, 1, 8, tzinfo=UTC), "erin", "#success a quiet summer release"),
    ("#other", datetime(2024, 8, 2, 8, tzinfo=UTC), "frank", "#success elsewhere, it worked"),
    ("#secret", datetime(2024, 8, 3, 8, tzinfo=UTC), "bob", "#success a private channel's win"),
)


async def _between_meetings(store: Store) -> None:
    for channel, when, nick, text in BETWEEN:
        room = _room(channel, when, private=channel == "#secret")
        effects = room.say(nick, text)
        assert any(type(e).__name__ == "SuccessRecorded" for e in effects), text
        await store.apply(effects)


async def record_gaps(db: Path, meeting_id: int, *gaps: Gap) -> None:
    """Gaps in recording kept for the meeting, as the store keeps those the engine hands it."""
    store = await Store.open(db)
    try:
        await store.apply([GapRecorded(meeting_id, gap) for gap in gaps])
    finally:
        await store.close()


def with_web(settings: Settings, host: str, port: int) -> Settings:
    return dataclasses.replace(
        settings, web=dataclasses.replace(settings.web, host=host, port=port)
    )


async def page(client: TestClient, url: str, status: int = 200) -> str:  # type: ignore[type-arg]
    response = await client.get(url, allow_redirects=False)
    text = await response.text()
    assert response.status == status, (url, text[:500])
    return text


def well_formed(text: str) -> None:
    """A page parses as strict HTML5."""
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(text)
