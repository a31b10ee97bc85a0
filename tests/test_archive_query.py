"""The search language and the reading of old archives' paths: pure code, strings in and
plans out."""

from __future__ import annotations

from datetime import date
from pathlib import PurePath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.archive.logfiles import (
    bot_nick_in,
    channel_from_minutes,
    decode_log,
    read_path,
)
from bot.archive.query import MAX_QUERY_LENGTH, QueryError, Term, highlight, parse_query, rank
from bot.archive.series import build_aliases


def test_words_are_quoted_and_searched_in_nick_and_text() -> None:
    plan = parse_query("Nova CAFÉ")
    assert plan.match == '({nick text} : "nova" AND {nick text} : "cafe")'
    assert plan.terms == (Term(("nova",)), Term(("cafe",)))
    assert plan.sort == "relevance"


def test_phrase_prefix_and_exclusion() -> None:
    plan = parse_query('"release notes" upgr* -grenade')
    assert plan.match == (
        '(({nick text} : "release notes" AND {nick text} : "upgr" *) NOT {nick text} : "grenade")'
    )


def test_a_word_of_several_tokens_is_a_phrase() -> None:
    assert parse_query("stable/2024.1").match == '({nick text} : "stable 2024 1")'


def test_every_filter() -> None:
    aliases, _ = build_aliases({"nova": ["nova_team"]})
    plan = parse_query(
        "docs from:Alice in:#OpenStack-Meeting series:nova network:oftc kind:action "
        "kind:AGREED after:2024-01-01 before:2024-02-01 sort:new",
        aliases,
    )
    assert plan.nicks == ("alice",)
    assert plan.channels == ("#openstack-meeting",)
    assert plan.series == ("nova", "nova_team")
    assert plan.networks == ("oftc",)
    assert plan.kinds == ("action", "agreed")
    assert plan.after == date(2024, 1, 1) and plan.before == date(2024, 2, 1)
    assert plan.sort == "new"
    assert plan.match == (
        '({nick text} : "docs" AND kind : ("action" OR "agreed") AND nick : ("alice"))'
    )


def test_an_alias_finds_its_whole_series() -> None:
    aliases, _ = build_aliases({"nova": ["nova_team"]})
    assert parse_query("x series:nova_team", aliases).series == ("nova", "nova_team")


def test_filters_alone_are_enough_when_they_narrow_the_index() -> None:
    assert parse_query("kind:action").match == '(kind : ("action"))'
    assert parse_query('from:"bob"').nicks == ("bob",)


@pytest.mark.parametrize(
    ("query", "sentence"),
    [
        ('"unbalanced', 'A quote (") is not closed; close the phrase or remove it.'),
        ('docs from:"bob', 'A quote (") is not closed; close the phrase or remove it.'),
        ("docs after:2024-13-01", "after:2024-13-01 is not a date; write it as YYYY-MM-DD."),
        ("docs before:yesterday", "before:yesterday is not a date; write it as YYYY-MM-DD."),
        ("docs colour:red", "colour: is not a filter; use one of from:, in:, series:, "),
        ("docs kind:minutes", "kind:minutes is not a kind of item; use one of topic, action"),
        ("docs sort:random", "sort:random is not an order; use sort:relevance, sort:new"),
        ("docs from:", "The filter from: needs a value after the colon."),
        ("in:#nova", "Give at least one word to look for (or a from: or kind: filter)."),
        ("-docs", "Give at least one word to look for (or a from: or kind: filter)."),
        ("", "Give at least one word to look for (or a from: or kind: filter)."),
        ("?!", "Give at least one word to look for (or a from: or kind: filter)."),
        ("ab*", "The prefix ab* is too short; give at least 3 letters before the *."),
        ("docs after:2024-01-01 after:2024-02-02", "Give after: only once."),
        ("x" * (MAX_QUERY_LENGTH + 1), "The query is longer than 500 characters; shorten it."),
    ],
)
def test_malformed_queries_get_one_clear_sentence(query: str, sentence: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    message = str(info.value)
    assert message.startswith(sentence)
    assert "\n" not in message and message.endswith(".")


@pytest.mark.parametrize(
    "hostile",
    [
        'NEAR(a b) OR "x" AND y* ^z {nick}: col:x',
        "<script>alert(1)</script>",
        "a\x00b \u202eevil\u202c",
        "'; DROP TABLE lines; --",
        '"a ""b"" c"',
        "**** ^^^ ::: ()",
    ],
)
def test_hostile_queries_become_quoted_words_or_clear_errors(hostile: str) -> None:
    try:
        plan = parse_query(hostile)
    except QueryError as exc:
        assert str(exc).endswith(".")
        return
    # Outside quoted strings only our own operators and column names appear.
    outside = plan.match
    for term in plan.terms:
        outside = outside.replace(term.fts(), "")
    assert set(outside.replace("{nick text}", "").split()) <= {"(", ")", ":", "AND", "NOT", "*"}


@given(st.text(max_size=200))
def test_any_text_parses_or_gets_a_sentence(text: str) -> None:
    try:
        plan = parse_query(text)
    except QueryError as exc:
        assert str(exc).endswith(".") and "\n" not in str(exc)
    else:
        assert plan.match.count('"') % 2 == 0


def test_highlight_folds_case_and_accents_and_keeps_everything_else() -> None:
    plan = parse_query('cafe "Release notes" upgr*')
    pieces = highlight("Le CAFÉ: release notes for upgrades, not upgr.", plan.terms)
    assert "".join(text for text, _ in pieces) == "Le CAFÉ: release notes for upgrades, not upgr."
    assert [text for text, hit in pieces if hit] == [
        "CAFÉ",
        "release",
        "notes",
        "upgrades",
        "upgr",
    ]


def test_layouts_of_old_archives() -> None:
    eavesdrop = read_path(PurePath("m/nova/2014/nova.2014-03-06-14.00.log.txt"))
    assert (eavesdrop.layout, eavesdrop.name, eavesdrop.day) == (
        "eavesdrop",
        "nova",
        date(2014, 3, 6),
    )
    assert eavesdrop.channel is None
    fedora = read_path(PurePath("fedora-meeting/2020-01-02/infra.2020-01-02-16.00.log.txt"))
    assert (fedora.layout, fedora.channel, fedora.day) == (
        "fedora",
        "#fedora-meeting",
        date(2020, 1, 2),
    )
    plain = read_path(PurePath("misc/whatever.log.txt"))
    assert (plain.layout, plain.name, plain.day, plain.channel) == ("plain", None, None, None)
    bad_day = read_path(PurePath("x/2014/x.2014-02-30-10.00.log.txt"))
    assert bad_day.day is None


def test_minutes_title_and_bot_nick() -> None:
    head = "<html><head><title>#openstack-meeting: nova</title>"
    assert channel_from_minutes(head) == "#openstack-meeting"
    assert channel_from_minutes("<title>nova meeting</title>") is None
    log = b"14:00:01 <dansmith> #startmeeting nova\n14:00:01 <openstack> Meeting started Thu"
    assert bot_nick_in(log) == "openstack"
    assert bot_nick_in(b"14:00:01 <bob> hello\n") is None


def test_lines_that_are_not_utf8_are_read_as_cp1252() -> None:
    raw = "ok: naïve\n".encode() + b"caf\xe9 \x80\n" + "Ωmega\n".encode()
    assert decode_log(raw) == "ok: naïve\ncafé €\nΩmega\n"
    assert decode_log(b"\x81\n") == "\ufffd\n"


def test_rank_prefers_more_and_rarer_matches_in_shorter_lines() -> None:
    terms = parse_query("docs release").terms
    lines = [
        (1, "amy", "docs docs and more docs for the release"),
        (2, "bob", "the docs"),
        (3, "cat", "a long line that talks about docs and many other things at length"),
        (4, "dan", "release"),
        (5, "eve", "docs release"),
        (6, "fay", "nothing here"),
    ]
    order = rank(terms, lines)
    assert order[:2] == [5, 1]  # both words; the short line first
    assert order.index(2) < order.index(3)  # same match, shorter line
    assert order[-1] == 6
    assert rank(terms, []) == []


def test_rank_counts_phrases_and_prefixes_and_keeps_the_order_of_ties() -> None:
    assert rank(
        parse_query('"fix the docs"').terms, [(1, "a", "fix the docs"), (2, "b", "the docs fix")]
    ) == [1, 2]
    assert rank(parse_query("upgr*").terms, [(2, "a", "upgrade"), (1, "b", "upgrade")]) == [2, 1]
