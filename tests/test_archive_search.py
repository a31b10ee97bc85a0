"""`gavel search` over real imported archives in real SQLite files: every operator and
filter, folding, ranking and order, permalinks, hostile text, and privacy."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from bot.archive.query import parse_query
from bot.core.effects import Effect, Publish
from bot.publishing import Publishing
from bot.replay import meetings_in_log
from bot.store import Store
from bot.store.archive import index_meeting
from bot.store.codec import dt_to_text
from bot.store.schema import MIGRATIONS, migrate
from bot.store.search import ArchiveReader, SearchTimeout
from bot.store.writes import meeting_steps
from tests.archivekit import config, eavesdrop_path, fedora_path, gavel, meeting_log, write
from tests.corekit import Room
from tests.test_publisher import settings as publisher_settings

HOSTILE = "<script>alert('x')</script> & \"quoted\" NEAR(a b) AND OR * ^col: \u202eevil\u202c"

NOVA = datetime(2014, 3, 6, 14, 0, 0, tzinfo=UTC)
NOVA_TEAM = datetime(2012, 5, 1, 15, 0, 0, tzinfo=UTC)
HEAT = datetime(2020, 1, 1, 9, 0, 0, tzinfo=UTC)
SECRET = datetime(2019, 4, 4, 10, 0, 0, tzinfo=UTC)
RESTRICTED = datetime(2018, 8, 8, 8, 0, 0, tzinfo=UTC)
ELSEWHERE = datetime(2016, 6, 6, 6, 0, 0, tzinfo=UTC)


def search(cfg: Path, query: str, *more: str) -> list[dict[str, object]]:
    ran = gavel("search", "--config", cfg, query, "--json", *more)
    assert ran.code == 0, ran.err
    answer = json.loads(ran.out)
    assert answer["query"] == query
    results: list[dict[str, object]] = answer["results"]
    return results


def texts(results: list[dict[str, object]]) -> list[object]:
    return [r["text"] for r in results]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six meetings imported with their files: two of series nova (one under its old
    name), heat, one in a private channel, one restricted, one on another network."""
    tmp = tmp_path_factory.mktemp("search")
    cfg = config(
        tmp,
        private="#secret",
        extra='[archive]\naliases = { nova = ["nova_team"] }\n',
    )
    logs = tmp / "logs"
    nova = [
        ("alice", "#topic Café résumé"),
        ("bob", "the CAFE is open"),
        ("alice", "#action bob to fix the docs"),
        ("bob", "unrelated docs talk"),
        ("dave", HOSTILE),
        ("erin", "a NUL\x00byte and more docs"),
        ("alice", "#link https://example.org/spec the docs spec"),
    ]
    write(eavesdrop_path(logs / "a", "nova", NOVA), meeting_log("nova", NOVA, nova))
    write(
        eavesdrop_path(logs / "a", "nova_team", NOVA_TEAM),
        meeting_log("nova_team", NOVA_TEAM, [("bob", "old docs meeting")]),
    )
    write(
        eavesdrop_path(logs / "a", "heat", HEAT),
        meeting_log("heat", HEAT, [("carol", "docs docs docs docs"), ("carol", "fix docs")]),
    )
    write(
        eavesdrop_path(logs / "a", "restricted", RESTRICTED),
        meeting_log("restricted", RESTRICTED, [("alice", "#restrictlogs"), ("bob", "docs xyzzy")]),
    )
    ok = gavel(
        "import", "--config", cfg, "--channel", "#openstack-meeting", "--write-files", logs / "a"
    )
    assert ok.code == 0, ok.err
    write(
        fedora_path(logs / "b", "secret", "secret", SECRET),
        meeting_log("secret", SECRET, [("bob", "docs plugh")]),
    )
    assert gavel("import", "--config", cfg, "--write-files", logs / "b").code == 0
    write(
        eavesdrop_path(logs / "c", "other", ELSEWHERE),
        meeting_log("other", ELSEWHERE, [("bob", "docs elsewhere")]),
    )
    imported = gavel(
        "import", "--config", cfg, "--network", "freenode", "--channel", "#x", logs / "c"
    )
    assert imported.code == 0
    return cfg


def test_words_phrases_prefixes_and_exclusions(archive: Path) -> None:
    assert len(search(archive, "docs", "--limit", "100")) == 8
    assert texts(search(archive, '"fix the docs"')) == ["#action bob to fix the docs"]
    assert texts(search(archive, "unrel*")) == ["unrelated docs talk"]
    excluded = texts(search(archive, "docs -unrelated -spec -docs", "--limit", "100"))
    assert excluded == []
    without = texts(search(archive, "docs -unrelated", "--limit", "100"))
    assert "unrelated docs talk" not in without and len(without) == 7


def test_case_and_accents_fold_both_ways(archive: Path) -> None:
    assert sorted(texts(search(archive, "cafe"))) == ["#topic Café résumé", "the CAFE is open"]
    assert texts(search(archive, "RÉSUMÉ")) == ["#topic Café résumé"]
    assert texts(search(archive, "resume")) == ["#topic Café résumé"]


def test_nick_is_searched_too_and_from_filters_exactly(archive: Path) -> None:
    assert {r["nick"] for r in search(archive, "erin")} == {"erin"}
    from_bob = search(archive, "docs from:BOB", "--limit", "100")
    assert {r["nick"] for r in from_bob} == {"bob"}
    assert len(from_bob) == 3  # nova, nova_team, elsewhere (not the secret meeting)


def test_channel_series_network_and_kind_filters(archive: Path) -> None:
    assert len(search(archive, "docs in:#OPENSTACK-meeting", "--limit", "100")) == 7
    assert texts(search(archive, "docs in:#x")) == ["docs elsewhere"]
    series = search(archive, "docs series:nova sort:old", "--limit", "100")
    assert [r["series"] for r in series] == ["nova"] * 5
    assert series[0]["text"] == "old docs meeting"  # held as nova_team, shown as nova
    assert texts(search(archive, "docs network:freenode")) == ["docs elsewhere"]
    actions = search(archive, "kind:action")
    assert [(r["kind"], r["text"]) for r in actions] == [("action", "#action bob to fix the docs")]
    assert [r["kind"] for r in search(archive, "docs kind:link")] == ["link"]
    assert [r["kind"] for r in search(archive, "cafe", "--limit", "5")].count("topic") == 1
    assert search(archive, "docs kind:vote") == []


def test_a_line_that_made_an_item_is_found_once(archive: Path) -> None:
    found = search(archive, '"bob to fix"')
    assert [(r["kind"], r["line"]) for r in found] == [("action", 6)]


def test_date_filters_and_sort_orders(archive: Path) -> None:
    dates = [r["date"] for r in search(archive, "docs sort:new", "--limit", "100")]
    assert dates == sorted(dates, reverse=True) and dates[0] == "2020-01-01"
    old = [r["date"] for r in search(archive, "docs sort:old", "--limit", "100")]
    assert old == sorted(old) and old[0] == "2012-05-01"
    between = search(archive, "docs after:2014-03-06 before:2016-06-07 sort:old", "--limit", "100")
    assert {r["date"] for r in between} == {"2014-03-06", "2016-06-06"}
    assert search(archive, "docs after:2014-03-07 before:2016-06-06") == []
    same_meeting = [
        r["line"]
        for r in search(
            archive, "docs in:#openstack-meeting sort:new after:2014-03-06 before:2014-03-07"
        )
    ]
    assert same_meeting == sorted(same_meeting, reverse=True)


def test_relevance_puts_the_densest_line_first(archive: Path) -> None:
    assert texts(search(archive, "docs"))[0] == "docs docs docs docs"
    assert texts(search(archive, "docs sort:relevance"))[0] == "docs docs docs docs"


def test_permalinks_resolve_to_the_line(archive: Path) -> None:
    out = archive.parent / "out"
    for result in search(archive, "docs", "--limit", "100"):
        url = str(result["url"])
        if result["network"] == "freenode":
            continue  # imported without files
        assert url.startswith("https://eavesdrop.example.org/")
        path, anchor = url.removeprefix("https://eavesdrop.example.org/").split("#")
        page = (out / path).read_text(encoding="utf-8")
        line = re.search(rf'<a href="#{anchor}" id="{anchor}".*', page)
        assert line is not None, url
        assert anchor == f"l-{result['line']}"
        first_word = str(result["text"]).split()[0].lstrip("#")
        assert first_word in line.group(0)


def test_hostile_text_as_data_is_found_and_escaped(archive: Path) -> None:
    (found,) = search(archive, "script alert")
    assert found["text"] == HOSTILE
    highlight = str(found["highlight"])
    assert "<script>" not in highlight and "&lt;<mark>script</mark>&gt;" in highlight
    ran = gavel("search", "--config", archive, "evil")
    assert ran.code == 0 and "\u202e" not in ran.out and "[evil]" in ran.out
    assert texts(search(archive, "byte")) == ["a NUL\x00byte and more docs"]


@pytest.mark.parametrize(
    "query",
    [
        "NEAR(a b)",
        '"quoted"',
        "^col: x",
        "AND OR NOT",
        "<script>",
        "a\x00b",
        "\u202eevil",
        "'; DROP TABLE lines; --",
        'docs "" docs',
        "* * *",
    ],
)
def test_hostile_queries_never_crash_or_inject(archive: Path, query: str) -> None:
    ran = gavel("search", "--config", archive, query, "--json")
    if ran.code == 2:
        assert ran.err.startswith("gavel: ") and ran.err.count("\n") == 1
    else:
        assert ran.code == 0, ran.err
        json.loads(ran.out)
    assert len(search(archive, "docs", "--limit", "100")) == 8  # nothing was dropped


def test_bad_queries_exit_2_with_one_sentence(archive: Path) -> None:
    ran = gavel("search", "--config", archive, "docs after:2024-02-30")
    assert ran.code == 2
    assert ran.err == "gavel: after:2024-02-30 is not a date; write it as YYYY-MM-DD.\n"
    assert ran.out == ""


def test_private_and_restricted_meetings_are_never_found(archive: Path) -> None:
    assert search(archive, "plugh") == []
    assert search(archive, "xyzzy") == []
    assert search(archive, "secret") == []  # not even its name or channel


def test_a_channel_made_private_later_is_hidden_by_the_configuration(
    archive: Path, tmp_path: Path
) -> None:
    shutil.copy(archive.parent / "gavel.sqlite3", tmp_path / "gavel.sqlite3")
    cfg = config(tmp_path, private="#openstack-meeting")
    assert texts(search(cfg, "docs", "--limit", "100")) == ["docs elsewhere"]


async def test_a_query_past_the_time_limit_is_stopped_and_says_so(archive: Path) -> None:
    db = archive.parent / "gavel.sqlite3"
    async with await ArchiveReader.open(db, progress_steps=1) as reader:
        with pytest.raises(SearchTimeout) as info:
            await reader.search(parse_query("docs"), time_limit=-1.0)
        assert str(info.value).startswith("The search took longer than -1 seconds")
        answer = await reader.search(parse_query("docs"))  # the next one runs normally
        assert answer.total == 8


@pytest.mark.parametrize("version", [1, 5, 6])
def test_the_migration_indexes_meetings_of_an_older_database(tmp_path: Path, version: int) -> None:
    db = tmp_path / "gavel.sqlite3"
    asyncio.run(_older_database(db, version))
    cfg = config(tmp_path)
    (found,) = search(cfg, "frobnicate")
    assert found["url"] == "https://eavesdrop.example.org/nova/x.log.html#l-4"
    with sqlite3.connect(db) as conn:  # the index keeps no column sizes (version 7)
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'search'").fetchone()
        assert "columnsize = 0" in sql
        assert (
            conn.execute("SELECT name FROM sqlite_master WHERE name = 'search_docsize'").fetchall()
            == []
        )


# The meetings table's columns before version 3 (saved_topic) and version 5 (private) added
# theirs, in the order the current INSERT lists them.
_COLUMNS_BY_VERSION = {1: 16, 5: 18, 6: 18}


async def _older_database(db: Path, version: int) -> None:
    """A database as Gavel before the archive left it (schema `version`), with one published
    meeting and, from version 5 on, one published meeting held in a private channel; then
    opened by this Gavel (which migrates it)."""
    records, _ = meetings_in_log(
        meeting_log("nova", NOVA, [("bob", "frobnicate the widget")]),
        channel="#openstack-meeting",
        bot_nick="openstack",
        network="oftc",
        timezone="UTC",
        fallback_day=NOVA.date(),
    )
    hidden, _ = meetings_in_log(
        meeting_log("nova", SECRET, [("eve", "frobnicate secretly")]),
        channel="#openstack-meeting",
        bot_nick="openstack",
        network="oftc",
        timezone="UTC",
        fallback_day=SECRET.date(),
    )
    width = _COLUMNS_BY_VERSION[version]
    async with aiosqlite.connect(db, isolation_level=None) as conn:
        assert await migrate(conn, MIGRATIONS[:version]) == version
        for number, record in enumerate(records + (hidden if version >= 5 else []), start=1):
            record = dataclasses.replace(record, id=number)
            for step in meeting_steps(record):
                sql, rows = step.sql, step.rows
                if sql.lstrip().startswith("INSERT INTO meetings"):
                    names = sql[sql.index("(") + 1 : sql.index(")")].split(",")[:width]
                    marks = ", ".join("?" * width)
                    sql = f"INSERT INTO meetings ({','.join(names)}) VALUES ({marks})"
                    rows = [row[:width] for row in rows]
                await conn.executemany(sql, rows)
        await conn.execute(
            "UPDATE meetings SET published_at = ?, file_base = 'nova/x' || id",
            (dt_to_text(NOVA),),
        )
        await conn.execute("UPDATE meetings SET file_base = 'nova/x' WHERE id = 1")
        if version >= 5:
            await conn.execute("UPDATE meetings SET private = 1 WHERE id = 2")
    if version >= 6:  # indexed when published, as Gavel at version 6 did
        with sqlite3.connect(db) as plain:
            for meeting_id in (1, 2):
                index_meeting(plain, meeting_id)
    await (await Store.open(db)).close()


async def test_publishing_makes_a_meeting_searchable_unless_private(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "gavel.sqlite3") as store:
        publisher = Publishing(publisher_settings(tmp_path), store)
        for channel in ("#open", "#secret"):
            room = Room(channel=channel)
            effects: list[Effect] = []
            effects += room.say("alice", "#startmeeting plans")
            effects += room.say("alice", f"quux from {channel}")
            effects += room.say("alice", "#endmeeting")
            await store.apply(effects)
            (publish,) = [e for e in effects if isinstance(e, Publish)]
            await publisher.write(publish.meeting)
    async with await ArchiveReader.open(tmp_path / "gavel.sqlite3") as reader:
        answer = await reader.search(parse_query("quux"))
    assert [h.text for h in answer.hits] == ["quux from #open"]


async def test_each_publish_adds_new_lines_and_corrects_kinds(tmp_path: Path) -> None:
    db = tmp_path / "gavel.sqlite3"
    room = Room(channel="#open")

    async def say(store: Store, publisher: Publishing, *lines: tuple[str, str]) -> None:
        effects: list[Effect] = []
        for nick, text in lines:
            effects += room.say(nick, text)
        await store.apply(effects)
        for publish in [e for e in effects if isinstance(e, Publish)]:
            await publisher.write(publish.meeting)

    async def found(query: str) -> list[tuple[str, str]]:
        async with await ArchiveReader.open(db) as reader:
            answer = await reader.search(parse_query(query + " sort:old"))
        return [(h.kind, h.text) for h in answer.hits]

    async with await Store.open(db) as store:
        publisher = Publishing(publisher_settings(tmp_path), store)
        await say(store, publisher, ("alice", "#startmeeting plans"), ("alice", "#action fix zorp"))
        await say(store, publisher, ("alice", "#save"))
        assert await found("zorp -removing") == [("action", "#action fix zorp")]
        await say(
            store,
            publisher,
            ("alice", "#undo"),
            ("alice", "#info zorp is fine"),
            ("alice", "#save"),
        )
        assert await found("zorp -removing") == [
            ("line", "#action fix zorp"),
            ("info", "#info zorp is fine"),
        ]
        await say(store, publisher, ("bob", "more zorp"), ("alice", "#endmeeting"))
        assert await found("zorp -removing") == [
            ("line", "#action fix zorp"),
            ("info", "#info zorp is fine"),
            ("line", "more zorp"),
        ]
        assert await found("kind:action") == []
    async with aiosqlite.connect(db) as conn:
        await conn.execute("INSERT INTO search (search) VALUES ('integrity-check')")
        lines = await conn.execute_fetchall("SELECT COUNT(*) FROM lines")
        kinds = await conn.execute_fetchall("SELECT kind FROM search_kinds ORDER BY id")
    assert list(kinds) == [("info",)]
    async with await ArchiveReader.open(db) as reader:  # every recorded line, once
        for n, text in await _all_lines(db):
            hits = (await reader.search(parse_query(f'"{text}" sort:new'), limit=100)).hits
            assert n in [h.line for h in hits], text
    assert next(iter(lines))[0] == len(await _all_lines(db))


async def _all_lines(db: Path) -> list[tuple[int, str]]:
    async with aiosqlite.connect(db) as conn:
        rows = await conn.execute_fetchall("SELECT n, text FROM lines ORDER BY n")
    return [(int(r[0]), str(r[1])) for r in rows]


def test_text_output_marks_matches_and_links_each_line(archive: Path) -> None:
    ran = gavel("search", "--config", archive, '"fix the docs"')
    assert ran.code == 0
    first, link, summary = ran.out.splitlines()
    assert first == (
        "nova  2014-03-06  #openstack-meeting  14:00:30  <alice>  "
        "[action] #action bob to [fix] [the] [docs]"
    )
    assert link.startswith("    https://eavesdrop.example.org/nova/2014/") and link.endswith("#l-6")
    assert summary == "1 matching lines"
    limited = gavel("search", "--config", archive, "docs", "--limit", "2")
    assert limited.out.splitlines()[-1] == "8 matching lines, showing 2"
    assert gavel("search", "--config", archive, "docs", "--limit", "0").code == 2
