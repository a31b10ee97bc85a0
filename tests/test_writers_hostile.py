"""Hostile IRC text through every writer: the HTML stays inert, the text stays the text.

The corpus (`tests/corpus.py`) is decoded as UTF-8 with errors="replace", as the IRC
adapter decodes leniently.
"""

from __future__ import annotations

import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import urlsplit

import html5lib
import pytest

from bot.core.record import (
    ITEM_KINDS,
    LINE_ACTION,
    LINE_MESSAGE,
    Ballot,
    Chair,
    Gap,
    Item,
    LogLine,
    MeetingRecord,
    Named,
    Presence,
    VoteRecord,
)
from bot.writers.htmlsafe import LINK_SCHEMES
from bot.writers.irctext import strip_formatting
from bot.writers.paths import log_href
from bot.writers.render import render_all
from tests.corpus import corpus_lines
from tests.example_meeting import START, meeting

BASE = "x/2013/x.2013-01-09-20.01"

ELEMENTS = {"html", "head", "meta", "title", "style", "body", "pre", "a", "span", "h1", "h3"}
ELEMENTS |= {"p", "ol", "li", "b", "i"}
ATTRIBUTES = {"href", "id", "class", "lang", "charset", "name", "content", "type"}
NICKS = ("alice", "bob", "<script>", 'a"b', "e\u202evil", "nick\x02", "x'y", "[dev]", "jon")


def load_corpus() -> list[str]:
    return [raw.decode("utf-8", errors="replace") for raw in corpus_lines()]


TEXTS = load_corpus()


def hostile_record() -> MeetingRecord:
    lines: list[LogLine] = []
    items: list[Item] = []
    kinds = [k for k in ITEM_KINDS if k != "vote"]
    for n, text in enumerate(TEXTS, start=1):
        nick = NICKS[n % len(NICKS)]
        kind = LINE_ACTION if n % 7 == 0 else LINE_MESSAGE
        moment = START + timedelta(seconds=n)
        lines.append(LogLine(n, moment, nick, kind, text))
        if n % 2 == 0:
            item_kind = kinds[(n // 2) % len(kinds)]
            url = text.split()[0] if item_kind == "link" and text.split() else None
            items.append(Item(len(items) + 1, item_kind, text, nick, moment, n, url))
    vote = VoteRecord(
        id=1,
        question=TEXTS[0],
        options=(TEXTS[1], TEXTS[2], "Yes"),
        ballots=tuple(Ballot(nick, TEXTS[1]) for nick in NICKS),
        opened_by=NICKS[2],
        opened_at=START,
        opened_line=1,
        closed_at=START,
        closed_line=2,
    )
    items.append(Item(len(items) + 1, "vote", TEXTS[3], NICKS[2], START, 2))
    return meeting(
        channel="#<script>alert(1)</script>",
        topic="</title><script>alert(1)</script>",
        owner='"><b>owner</b>',
        chairs=(Chair('"><b>owner</b>'), Chair("<i>chair</i>")),
        info_url="javascript:alert(1)",
        lines=tuple(lines),
        items=tuple(items),
        votes=(vote,),
        named=(Named("<script>named</script>", 3), Named("e\u202evil", 4)),
        presence=(Presence(START, "quit", "<b>q</b>", "</pre><script>x</script>"),),
        gaps=(Gap(START, START, "<script>gap</script>"),),
    )


RECORD = hostile_record()


def test_the_corpus_is_big_and_varied() -> None:
    assert len(TEXTS) >= 200
    assert any("\ufffd" in t for t in TEXTS)  # invalid UTF-8 made it through
    assert any("\u202e" in t for t in TEXTS)
    assert any("\x03" in t for t in TEXTS)
    assert any(len(t.encode()) > 500 for t in TEXTS)


@pytest.fixture(scope="module", params=["", "http://eavesdrop.example.org/m/", "javascript:x//"])
def rendered(request: pytest.FixtureRequest) -> dict[str, str]:
    return render_all(RECORD, BASE, request.param)


def _parse(page: str) -> ET.Element:
    tree: ET.Element = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)
    return tree


def _href_is_ours_or_safe(href: str) -> bool:
    if href.startswith("#l-") or href.split("#")[0] == log_href(BASE):
        return True
    return urlsplit(href).scheme.lower() in LINK_SCHEMES


@pytest.mark.parametrize("extension", [".log.html", ".html"])
def test_html_is_valid_and_inert(rendered: dict[str, str], extension: str) -> None:
    page = rendered[extension]
    root = _parse(page)  # strict: raises on any parse error
    elements = list(root.iter())
    assert {e.tag for e in elements} <= ELEMENTS
    assert not [e for e in elements if e.tag == "script"]
    assert len([e for e in elements if e.tag == "style"]) == 1
    for element in elements:
        assert set(element.attrib) <= ATTRIBUTES
        assert not [k for k in element.attrib if k.lower().startswith("on")]
    for anchor in root.iter("a"):
        href = anchor.get("href", "")
        assert _href_is_ours_or_safe(href), href
        assert not re.search(r'[\s\x00-\x1f"<>]', href), href


@pytest.mark.parametrize("extension", [".log.html", ".html"])
def test_html_holds_no_control_or_bidi_characters(rendered: dict[str, str], extension: str) -> None:
    bad = [
        c
        for c in set(rendered[extension])
        if (c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cs", "Cn"))
        or "\u202a" <= c <= "\u202e"
        or "\u2066" <= c <= "\u2069"
    ]
    assert bad == []


def test_log_html_has_one_anchored_line_per_message(rendered: dict[str, str]) -> None:
    root = _parse(rendered[".log.html"])
    ids = [a.get("id") for a in root.iter("a") if a.get("class") == "tm"]
    assert ids == [f"l-{n}" for n in range(1, len(TEXTS) + 1)]
    (pre,) = root.iter("pre")
    # and the gap in recording, a line of its own that is not a message
    assert len("".join(pre.itertext()).strip("\n").split("\n")) == len(TEXTS) + 1
    (gap,) = [s for s in root.iter("span") if s.get("class") == "gap"]
    assert "".join(gap.itertext()).startswith("*** Gavel was not connected from ")


def test_log_html_shows_the_text_not_markup(rendered: dict[str, str]) -> None:
    root = _parse(rendered[".log.html"])
    shown = "".join(next(root.iter("pre")).itertext())
    assert "<script>alert(1)</script>" in shown
    assert '"><script>alert(1)</script>' in shown


def test_log_text_is_verbatim(rendered: dict[str, str]) -> None:
    log = rendered[".log.txt"]
    position = 0
    for line in RECORD.lines:
        said = (
            f"* {line.nick} {line.text}\n"
            if line.kind == LINE_ACTION
            else (f"<{line.nick}> {line.text}\n")
        )
        found = log.find(said, position)
        assert found > position - 1, line
        position = found + len(said)
    # html.escape would turn each of the corpus's many apostrophes into this entity.
    assert "&#x27;" not in log
    assert log.count("&lt;") == sum(t.count("&lt;") for t in TEXTS)


def _words(text: str) -> str:
    return " ".join(text.split())


def test_text_minutes_hold_the_text_itself(rendered: dict[str, str]) -> None:
    minutes = _words(rendered[".txt"])
    for item in RECORD.items:
        assert _words(strip_formatting(item.text)) in minutes
    assert "<script>alert(1)</script>" in minutes
    assert "&#x27;" not in minutes
    assert "#<script>alert(1)</script>: </title><script>alert(1)</script>" in minutes


def test_json_round_trips_every_string(rendered: dict[str, str]) -> None:
    data = json.loads(rendered[".json"])
    assert [line["text"] for line in data["lines"]] == TEXTS
    assert [line["nick"] for line in data["lines"]] == [line.nick for line in RECORD.lines]
    assert [item["text"] for item in data["items"]] == [item.text for item in RECORD.items]
    assert data["channel"] == RECORD.channel
    assert data["votes"][0]["options"] == list(RECORD.votes[0].options)
    assert data["gaps"][0]["reason"] == "<script>gap</script>"
