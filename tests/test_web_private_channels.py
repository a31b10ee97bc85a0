"""A channel the configuration calls private is hidden by `gavel web` however its name is
cased: under RFC 1459 `[]\\~` are the capitals of `{}|^`, so `#HEAT[DEV]~` and `#heat{dev}^`
are one channel, as the rest of Gavel compares channel names. Its meetings (recorded before
it was private, so not marked private themselves) stay out of every listing, the search,
the person pages, the feeds and the successes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import product
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.core.casemap import irc_lower, same
from bot.settings import ChannelConfig, NetworkConfig, Settings
from bot.store import Store
from bot.store.archive import ascii_fold_suffices, fold_channel, sql_irc_lower
from bot.store.archive_reads import _hidden
from bot.store.search import hidden_key
from bot.web.app import make_app
from bot.web.views import open_reader
from tests.corekit import Room
from tests.webkit import NETWORK, page, settings_for

CONFIGURED = "#HEAT[DEV]~"
RECORDED = "#heat{dev}^"
BEYOND_ASCII = "#CAFÉ"  # SQL's lower() and irc_lower leave É as it is; str.lower() does not


@dataclass
class Archive:
    path: Path
    settings: Settings
    public: int  # in #chan: zed speaks, is given an action, says #success
    hidden: int  # in RECORDED
    beyond_ascii: int  # in BEYOND_ASCII


async def _meeting(
    store: Store, channel: str, start: datetime, name: str, said: list[tuple[str, str]]
) -> int:
    room = Room(network=NETWORK, channel=channel, now=start)
    await store.apply(room.say("alice", f"#startmeeting {name}"))
    meeting = room.meeting
    assert meeting is not None
    for nick, text in said:
        await store.apply(room.say(nick, text))
    await store.apply(room.say("alice", "#endmeeting"))
    await store.index_meeting(meeting.id)  # searchable, as publishing makes it
    return meeting.id


async def _build(tmp: Path) -> Archive:
    db = tmp / "gavel.sqlite3"
    base = settings_for(db, tmp / "meetings")
    channels = (
        ChannelConfig("#chan"),
        ChannelConfig(CONFIGURED, private=True),
        ChannelConfig(BEYOND_ASCII, private=True),
    )
    network = NetworkConfig(name=NETWORK, host="127.0.0.1", channels=channels)
    settings = dataclasses.replace(base, networks=(network,))
    async with await Store.open(db) as store:
        public = await _meeting(
            store,
            "#chan",
            datetime(2024, 5, 1, 14, tzinfo=UTC),
            "open",
            [
                ("zed", "#info zebra crossing is open"),
                ("alice", "#action zed to paint the zebra crossing"),
                ("zed", "#success the open crossing works"),
                ("bob", "#thanks alice for the open crossing"),
            ],
        )
        hidden = await _meeting(
            store,
            RECORDED,
            datetime(2024, 5, 2, 14, tzinfo=UTC),
            "stealth",
            [
                ("zed", "#info zebra stealth plans"),
                ("alice", "#action zed to hide the stealth zebra"),
                ("zed", "#success the stealth plan prevailed"),
                ("bob", "#thanks zed for the stealth help"),
            ],
        )
        beyond_ascii = await _meeting(
            store,
            BEYOND_ASCII,
            datetime(2024, 5, 3, 14, tzinfo=UTC),
            "espresso",
            [("zed", "#info zebra espresso beans")],
        )
        # Said in the channel outside a meeting.
        room = Room(network=NETWORK, channel=RECORDED, now=datetime(2024, 5, 4, 9, tzinfo=UTC))
        await store.apply(room.say("zed", "#success a quiet stealth win"))
    return Archive(db, settings, public, hidden, beyond_ascii)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    return asyncio.run(_build(tmp_path_factory.mktemp("private-archive")))


async def test_listings_and_feeds_leave_it_out(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    for url in ("/", "/feed.atom", "/date/2024-05", "/date/2024-05-02", "/series/net/open"):
        text = await page(client, url)
        assert "stealth" not in text and f'href="/meeting/{archive.hidden}"' not in text, url
    assert f'href="/meeting/{archive.public}"' in await page(client, "/")
    series = json.loads(await page(client, "/api/v1/series"))
    assert {s["name"] for s in series["series"]} == {"open"}
    for url in (
        "/series/net/stealth",
        "/series/net/stealth/latest",
        "/series/net/stealth/feed.atom",
        "/channel/net/" + quote(RECORDED, safe=""),
        "/channel/net/" + quote(CONFIGURED, safe=""),
        f"/meeting/{archive.hidden}",
        f"/meeting/{archive.hidden}/log",
        f"/api/v1/meeting/{archive.hidden}",
    ):
        await page(client, url, 404)


async def test_search_leaves_it_out(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    text = await page(client, "/search?q=zebra")
    assert f'href="/meeting/{archive.public}/log#l-' in text
    assert "stealth" not in text and f"/meeting/{archive.hidden}" not in text
    for query in ("zebra", "stealth", "zebra from:zed", "zebra series:stealth"):
        response = await client.get("/api/v1/search", params={"q": query})
        assert response.status == 200
        found = {r["meeting_id"] for r in (await response.json())["results"]}
        assert archive.hidden not in found and archive.beyond_ascii not in found, query
    assert "0 matching lines" in await page(client, "/search?q=stealth")


async def test_search_folds_the_indexed_name_of_a_meeting_recorded_in_capitals(
    tmp_path: Path,
) -> None:
    """Recorded as `#HEAT[DEV]~`, which the search index keeps folded by ASCII alone
    (`#heat[dev]~`), in the channel configured private as `#heat{dev}^`: the search folds
    the index's name as RFC 1459 does, and finds nothing of the meeting."""
    db = tmp_path / "gavel.sqlite3"
    channels = (ChannelConfig("#chan"), ChannelConfig(RECORDED, private=True))
    network = NetworkConfig(name=NETWORK, host="127.0.0.1", channels=channels)
    settings = dataclasses.replace(settings_for(db, tmp_path / "meetings"), networks=(network,))
    async with await Store.open(db) as store:
        at = datetime(2024, 5, 1, 14, tzinfo=UTC)
        public = await _meeting(store, "#chan", at, "open", [("zed", "#info zebra crossing")])
        hidden = await _meeting(
            store, CONFIGURED, at.replace(day=2), "stealth", [("zed", "#info zebra stealth")]
        )
    with closing(sqlite3.connect(db)) as conn:
        sql = "SELECT channel FROM archive WHERE meeting_id = ?"
        assert conn.execute(sql, (hidden,)).fetchall() == [("#heat[dev]~",)]
    reader = await open_reader(settings)
    try:
        async with TestClient(TestServer(make_app(settings, reader))) as client:
            text = await page(client, "/search?q=zebra")
            assert f'href="/meeting/{public}/log#l-' in text
            assert "stealth" not in text and f"/meeting/{hidden}" not in text
            assert "0 matching lines" in await page(client, "/search?q=stealth")
            for query in ("zebra", "stealth", "zebra from:zed", "zebra series:stealth"):
                response = await client.get("/api/v1/search", params={"q": query})
                assert response.status == 200
                found = {r["meeting_id"] for r in (await response.json())["results"]}
                assert hidden not in found, query
                assert (public in found) == ("stealth" not in query), query
    finally:
        await reader.close()


async def test_the_person_page_leaves_it_out(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    text = await page(client, "/person/net/zed")
    assert f'href="/meeting/{archive.public}"' in text and "paint the zebra" in text
    assert f"/meeting/{archive.hidden}" not in text and "stealth" not in text


async def test_successes_and_thanks_leave_it_out(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    successes = await page(client, "/successes")
    assert "the open crossing works" in successes and "stealth" not in successes
    thanks = await page(client, "/thanks")
    assert "alice for the open crossing" in thanks and "stealth" not in thanks
    for kind in ("successes", "thanks"):
        body = json.loads(await page(client, f"/api/v1/{kind}"))
        assert body["total"] == 1, kind
        assert all("stealth" not in e["text"] for e in body["entries"])


async def test_a_private_channel_named_beyond_ascii_is_left_out(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    for url in ("/", "/date/2024-05", "/person/net/zed"):
        assert f'href="/meeting/{archive.beyond_ascii}"' not in await page(client, url), url
    await page(client, f"/meeting/{archive.beyond_ascii}", 404)


SAMPLES = ["".join(chars) for n in range(3) for chars in product("aA[{]}\\|~^É*_%'", repeat=n)]


def test_the_sql_fold_is_irc_lower() -> None:
    with sqlite3.connect(":memory:") as conn:
        expr = f"SELECT {sql_irc_lower('?')}"
        for text in [*SAMPLES, CONFIGURED, RECORDED, BEYOND_ASCII, "#Ünïcode[ÄÖ]"]:
            assert conn.execute(expr, (text,)).fetchone()[0] == irc_lower(text), text


def test_ascii_folding_alone_is_exact_for_names_without_brackets() -> None:
    """Where `ascii_fold_suffices` says so, comparing the ASCII-folded name (SQL's lower(),
    and the search index's stored channel) finds exactly the names RFC 1459 makes the same."""
    for configured in SAMPLES:
        folded = irc_lower(configured)
        if ascii_fold_suffices(folded):
            for stored in SAMPLES:
                assert (fold_channel(stored) == folded) == same(configured, stored)
    assert not ascii_fold_suffices(irc_lower(CONFIGURED))
    assert hidden_key(NETWORK, CONFIGURED) == f"{NETWORK} {RECORDED}"


def test_the_readers_private_test_is_rfc_1459() -> None:
    """The condition every read of the web archive leaves private channels out by, against
    `temp.hidden` filled as `ArchiveReader.open` fills it: exactly the names `same` says."""
    with sqlite3.connect(":memory:") as conn:
        conn.execute("CREATE TABLE m (network TEXT, channel TEXT)")
        conn.executemany("INSERT INTO m VALUES ('net', ?)", [(s,) for s in SAMPLES])
        conn.execute("CREATE TEMP TABLE hidden (network TEXT, channel TEXT, plain INTEGER)")
        query = f"SELECT m.channel FROM m WHERE {_hidden('m.network', 'm.channel')}"
        for configured in [*SAMPLES, CONFIGURED]:
            folded = irc_lower(configured)
            conn.execute("DELETE FROM temp.hidden")
            row = ("net", folded, int(ascii_fold_suffices(folded)))
            conn.execute("INSERT INTO temp.hidden VALUES (?, ?, ?)", row)
            found = {r[0] for r in conn.execute(query)}
            assert found == {s for s in SAMPLES if same(configured, s)}, configured
