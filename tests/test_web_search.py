"""`/search` and `/api/v1/search` of `gavel web` against a real SQLite archive filled through
the core and the store and indexed as publishing indexes it: every filter, both permalinks,
pagination, bad and hostile queries, the time limit, privacy; and 410 Gone for a redacted
meeting."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import html5lib
from aiohttp.test_utils import TestClient, TestServer

from bot.store import Store
from bot.store.archive_reads import ArchiveReader
from bot.web.app import make_app
from bot.web.views import SearchPage, open_reader, private_channels
from tests.webkit import NOVA_FILES, Archive, build_archive, page, well_formed

DOCS = "bob to write docs"  # said once as an #action in every heat and nova meeting


async def api(client: TestClient, query: str, status: int = 200, **more: str) -> Any:  # type: ignore[type-arg]
    response = await client.get("/api/v1/search", params={"q": query, **more})
    assert response.status == status, (query, await response.text())
    assert response.content_type == "application/json"
    return await response.json()


def ids(answer: dict[str, Any]) -> list[int]:
    return [r["meeting_id"] for r in answer["results"]]


def inert(text: str) -> None:
    """Well-formed, without script, image or frame elements and without event attributes."""
    tree = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(text)
    assert not tree.findall(".//script") and not tree.findall(".//img")
    assert not tree.findall(".//svg") and not tree.findall(".//iframe")
    for element in tree.iter():
        assert not [a for a in element.attrib if a.lower().startswith("on")], element.tag


async def test_results_name_where_and_who_and_link_the_line_twice(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    text = await page(client, "/search?q=" + quote("docs from:bob series:nova"))
    well_formed(text)
    assert "2 matching lines" in text
    newer, older = archive.nova[1], archive.nova[0]
    assert text.index(f'href="/meeting/{newer}"') < text.index(f'href="/meeting/{older}"')
    (line,) = set(re.findall(rf'href="/meeting/{newer}/log#l-(\d+)"', text))
    file_link = f"http://127.0.0.1:8080/meetings/{NOVA_FILES}.log.html#l-{line}"
    assert f'href="{file_link}"' in text  # the published file's line
    assert 'href="/series/net/nova"' in text and ">2024-06-03<" in text  # nova_team merged
    assert 'href="/channel/net/%23chan"' in text and 'href="/person/net/bob"' in text
    assert ">09:00:04<" in text and '<span class="badge">action</span>' in text
    assert "#action bob to write <mark>docs</mark> 91" in text
    log = await page(client, f"/meeting/{newer}/log")
    assert re.search(rf'id="l-{line}"[^\n]*bob to write docs 91', log)


async def test_the_api_answers_the_spec_shape(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    answer = await api(client, "docs series:nova sort:new")
    assert {"query", "total", "results"} <= answer.keys()
    assert answer["query"] == "docs series:nova sort:new" and answer["total"] == 2
    first = answer["results"][0]
    expected = {"meeting_id", "network", "channel", "series", "date", "time", "nick", "line"}
    assert expected | {"kind", "text", "url", "log_url", "highlight"} <= first.keys()
    assert (first["meeting_id"], first["series"], first["date"]) == (
        archive.nova[1],
        "nova",
        "2024-06-03",
    )
    assert (first["nick"], first["kind"], first["text"]) == (
        "bob",
        "action",
        "#action " + DOCS + " 91",
    )
    line = first["line"]
    assert first["url"].endswith(f"{NOVA_FILES}.log.html#l-{line}")
    assert first["log_url"] == f"/meeting/{archive.nova[1]}/log#l-{line}"
    assert answer["results"][1]["url"] == ""  # no files published: no file permalink


async def test_every_filter_of_the_query_language(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    heat, nova = archive.heat, archive.nova
    everyone = sorted(heat + nova)
    cases: list[tuple[str, list[int]]] = [
        ("docs", everyone),
        ('"write docs"', everyone),
        ("doc* from:bob", everyone),
        ("docs -91", sorted([*heat, nova[0]])),
        ("docs from:bob", everyone),
        ("docs from:carol", []),
        ("docs in:#chan", everyone),
        ("docs in:#other", []),
        ("docs series:heat", heat),
        ("docs series:nova_team", nova),  # an alias names the whole series
        ("docs network:net", everyone),
        ("docs network:elsewhere", []),
        ("docs kind:action", everyone),
        ("docs kind:info", []),
        ("docs after:2024-05-02", sorted([heat[1], heat[2], nova[1]])),
        ("docs before:2024-01-01", [nova[0]]),
    ]
    for query, expected in cases:
        assert sorted(ids(await api(client, query))) == expected, query
    old = ids(await api(client, "docs sort:old"))
    assert old == [nova[0], heat[0], heat[1], heat[2], nova[1]]
    assert ids(await api(client, "docs sort:new")) == old[::-1]
    assert sorted(ids(await api(client, "docs sort:relevance"))) == everyone
    kinds = {r["kind"] for r in (await api(client, "kind:idea"))["results"]}
    assert kinds == {"idea"}


async def test_pages_of_results(client: TestClient) -> None:  # type: ignore[type-arg]
    everything = await api(client, "the", per_page="100")
    total = everything["total"]
    assert total > 20  # more than one page of the HTML's twenty
    lines = [(r["meeting_id"], r["line"]) for r in everything["results"]]
    assert len(lines) == total
    paged = []
    for n in range(1, total + 1):
        one = await api(client, "the", per_page="1", page=str(n))
        assert (one["page"], one["per_page"], one["total"]) == (n, 1, total)
        paged += [(r["meeting_id"], r["line"]) for r in one["results"]]
    assert paged == lines
    first = await page(client, "/search?q=the")
    assert 'rel="next" href="/search?q=the&amp;page=2"' in first and 'rel="prev"' not in first
    second = await page(client, "/search?q=the&page=2")
    well_formed(second)
    assert 'rel="prev" href="/search?q=the&amp;page=1"' in second and 'rel="next"' not in second
    assert second.count('class="result"') == total - 20 and 'start="21"' in second
    past = await api(client, "the", page="99")
    assert (past["total"], past["results"]) == (total, [])


def test_a_page_of_results_counts_pages_as_the_listings_do() -> None:
    def found(total: int, page: int) -> SearchPage:
        return SearchPage("docs", total, False, page, 20, [])

    assert [found(total, 1).pages for total in (0, 1, 20, 21, 40, 41)] == [1, 1, 1, 2, 2, 3]
    assert [found(41, page).first for page in (1, 2, 3)] == [1, 21, 41]
    assert (found(41, 1).has_previous, found(41, 1).has_next) == (False, True)
    assert (found(41, 3).has_previous, found(41, 3).has_next) == (True, False)


async def test_a_bad_query_is_400_with_one_sentence(client: TestClient) -> None:  # type: ignore[type-arg]
    cases = {
        '"oops': 'A quote (") is not closed; close the phrase or remove it.',
        "e*": "The prefix e* is too short; give at least 3 letters before the *.",
        "a" * 501: "The query is longer than 500 characters; shorten it.",
    }
    for query, sentence in cases.items():
        assert (await api(client, query, 400)) == {"error": sentence}
        text = await page(client, "/search?q=" + quote(query), 400)
        well_formed(text)
        assert f"<p>{sentence.replace(chr(34), '&#34;')}</p>" in text
    for query in ("kind:nonsense x", "after:2024-13-01 x", "colour:blue x"):
        error = (await api(client, query, 400))["error"]
        assert error.endswith(".") and "\n" not in error and "Traceback" not in error
    assert "page must be" in (await api(client, "docs", 400, page="x"))["error"]
    assert "per_page must be" in (await api(client, "docs", 400, per_page="1000"))["error"]
    assert "too long" in await page(client, "/search?q=" + "a" * 2100, 400)


async def test_private_restricted_and_unpublished_are_never_found(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    # The cabal's meetings: one recorded as private, one recorded before that flag in a
    # channel the configuration now calls private (indexed, kept out by the configuration).
    for query in ("cabal", "cabal in:#secret", "secret plans", "still going", "Live topic"):
        assert (await api(client, query))["results"] == [], query
        assert "0 matching lines" in await page(client, "/search?q=" + quote(query))
    hidden = [archive.private, archive.restricted, archive.legacy_private, archive.running]
    for query in ("the", "bob", "info"):
        found = await api(client, query, per_page="100")
        assert not set(ids(found)) & set(hidden), query


async def test_hostile_queries_and_hostile_lines_stay_text(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    for query in (
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "NEAR(a b) AND OR ^nick: {x}",
        "') OR 1=1; DROP TABLE lines; --",
        "\u202eevil\u202c \x00 \x1b[31m",
        "*",
    ):
        response = await client.get("/search", params={"q": query})
        text = await response.text()
        assert response.status in (200, 400), (query, text[:300])
        inert(text)
        answer = await client.get("/api/v1/search", params={"q": query})
        assert answer.status in (200, 400)
    text = await page(client, "/search?q=pwned")
    inert(text)
    assert f'href="/meeting/{archive.hostile}/log#l-' in text
    assert "<script>window" not in text and "<img" not in text and "<svg" not in text
    assert "&lt;script&gt;window.__<mark>pwned</mark> = 1&lt;/script&gt;" in text
    found = await api(client, "pwned")
    assert all("<script>" not in r["highlight"] for r in found["results"])


async def test_a_search_past_the_time_limit_says_so(archive: Archive) -> None:
    settings = archive.settings
    reader = await ArchiveReader.open(
        settings.storage.path,
        settings.archive.aliases,
        hidden=private_channels(settings),
        search_seconds=-1.0,
        search_steps=1,
    )
    sentence = (
        "The search took longer than -1 seconds and was stopped; add words or filters to narrow it."
    )
    async with TestClient(TestServer(make_app(settings, reader))) as test_client:
        assert (await api(test_client, "docs", 503)) == {"error": sentence}
        assert f"<p>{sentence}</p>" in await page(test_client, "/search?q=docs", 503)
        await page(test_client, "/", 200)  # other pages on the same connections still work
    await reader.close()


async def test_a_redacted_meeting_is_gone(tmp_path: Path) -> None:
    built = await build_archive(tmp_path, heat_count=2)
    gone = built.heat[0]
    async with await Store.open(built.path) as store:
        await store.redact_meeting(gone, "off the record")
        await store.redact_meeting(built.private, "off the record")
    reader = await open_reader(built.settings)
    async with TestClient(TestServer(make_app(built.settings, reader))) as test_client:
        for suffix in ("", "/log", "/live", "/events"):
            text = await page(test_client, f"/meeting/{gone}{suffix}", 410)
            assert "This meeting was taken out of the archive." in text
            # A private meeting stays unknown, redacted or not.
            await page(test_client, f"/meeting/{built.private}{suffix}", 404)
        assert (await api(test_client, "docs series:heat"))["total"] == 1
        response = await test_client.get(f"/api/v1/meeting/{gone}")
        assert response.status == 410
        assert await response.json() == {"error": "This meeting was taken out of the archive."}
        for listing in ("/", "/series/net/heat", "/feed.atom", "/series/net/heat/feed.atom"):
            text = await page(test_client, listing)
            assert f"/meeting/{gone}" not in text, listing
            assert f"/meeting/{built.heat[1]}" in text, listing
        api_list = await page(test_client, "/api/v1/series/net/heat/meetings")
        assert f'"id": {gone},' not in api_list and f'"id": {built.heat[1]},' in api_list
    await reader.close()
