"""The HTML writers: escaping, cleaning, links, and the classes the stylesheet relies on."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import html5lib
import pytest

from bot.core.record import LINE_ACTION
from bot.writers.htmlsafe import linkify, safe_href, text_html
from bot.writers.irctext import displayable, strip_formatting
from bot.writers.loghtml import message_html, render_log_html
from bot.writers.minutes_html import render_html_minutes
from tests.example_meeting import item, meeting, said


def parse(page: str) -> ET.Element:
    tree: ET.Element = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)
    return tree


def fragment(html: str) -> ET.Element:
    return parse(f"<!DOCTYPE html><title>t</title><p>{html}</p>")


def hrefs(root: ET.Element) -> list[str]:
    return [a.get("href", "") for a in root.iter("a")]


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/a?b=c&d=e",
        "https://example.org/",
        "irc://irc.example.org/#chan",
        "ircs://irc.example.org:6697/chan",
        "ftp://ftp.example.org/pub/",
        "mailto:alice@example.org",
        "MailTo:alice@example.org",
        "HTTPS://EXAMPLE.ORG/UPPER",
    ],
)
def test_allowed_schemes_become_links(url: str) -> None:
    root = fragment(linkify(f"see {url} now"))
    assert hrefs(root) == [url]


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "ssh://host",
        "xhttp://example.org/",
        "java\tscript:alert(1)",
    ],
)
def test_other_schemes_are_never_links(text: str) -> None:
    root = fragment(text_html(text))
    assert hrefs(root) == []
    assert "".join(root.itertext()).endswith(displayable(text))


def test_quotes_and_brackets_cannot_leave_the_href() -> None:
    html = linkify('http://x.org/"onmouseover="alert(1)" http://y.org/\'><script>x</script>')
    root = fragment(html)
    assert hrefs(root) == ["http://x.org/", "http://y.org/"]
    assert not list(root.iter("script"))
    assert all(not k.startswith("on") for a in root.iter("a") for k in a.attrib)


def test_trailing_punctuation_is_not_part_of_the_link() -> None:
    assert hrefs(fragment(linkify("(see http://x.org/a_(b)), then http://y.org/."))) == [
        "http://x.org/a_(b)",
        "http://y.org/",
    ]


def test_a_line_without_a_link_is_only_escaped() -> None:
    assert linkify("alice: a < b & 'c'") == "alice: a &lt; b &amp; &#x27;c&#x27;"


def test_a_scheme_alone_is_not_a_link() -> None:
    assert hrefs(fragment(linkify("http:// and mailto: are not links"))) == []


def test_formatting_codes_are_stripped() -> None:
    raw = (
        "\x02b\x02 \x1ditalic\x1d \x0304,12colour\x03 \x0399x \x04FF0000hex\x04 "
        "\x16\x1f\x1e\x11\x0fend"
    )
    assert strip_formatting(raw) == "b italic colour x hex end"
    assert displayable(raw) == "b italic colour x hex end"


def test_controls_bidi_and_noncharacters_are_neutralised() -> None:
    raw = "a\x00b\x07c\x1bd\x7fe\x85f\u202eg\u2066h\u2069i\ufdd0j\U0001fffek\rl\nm\ud800n\tz"
    assert displayable(raw) == "abcde f" + "ghi\ufffdj\ufffdk l m\ufffdn\tz"


def test_printable_text_is_untouched() -> None:
    text = "naïve 这个 🚀 <b> & ' \""
    assert displayable(text) == text
    assert strip_formatting(text) == text


def test_safe_href_accepts_relative_and_allowed_urls_only() -> None:
    assert safe_href("heat.log.html") == "heat.log.html"
    assert safe_href("/meetings/a b") is None
    assert safe_href("http://x.org/?a=1&b='2'") == "http://x.org/?a=1&amp;b=&#x27;2&#x27;"
    assert safe_href("javascript:alert(1)") is None
    assert safe_href(" \x01javascript:alert(1)") is None
    assert safe_href("") is None


def test_log_line_classes() -> None:
    record = meeting(
        lines=said(
            ("alice", "#topic Next <thing>"),
            ("alice", "  #ACTION bob to x"),
            ("bob", "waves at http://x.org/", LINE_ACTION),
            ("carol", "bob: hello"),
            ("carol", "#1234 is not a command"),
            ("carol", "plain & simple"),
        )
    )
    root = parse(render_log_html(record))
    assert root.findtext("head/title") == "#openstack-meeting log"
    (pre,) = root.iter("pre")
    spans = [(s.get("class"), "".join(s.itertext())) for s in pre.iter("span")]
    assert spans == [
        ("nk", "<alice>"),
        ("topic", "#topic"),
        ("topicline", "Next <thing>"),
        ("nk", "<alice>"),
        ("cmd", "#ACTION"),
        ("cmdline", "bob to x"),
        ("nka", "* bob"),
        ("ac", "waves at http://x.org/"),
        ("nk", "<carol>"),
        ("hi", "bob:"),
        ("nk", "<carol>"),
        ("nk", "<carol>"),
    ]
    anchors = [a for a in pre.iter("a") if a.get("class") == "tm"]
    assert [(a.get("href"), a.get("id"), a.text) for a in anchors[:2]] == [
        ("#l-1", "l-1", "20:01:10"),
        ("#l-2", "l-2", "20:01:11"),
    ]
    assert "".join(pre.itertext()).splitlines()[-1] == "20:01:15 <carol> plain & simple"


def test_message_html_keeps_spacing_and_marks_only_real_commands() -> None:
    assert message_html("#startmeetingfoo") == "#startmeetingfoo"
    assert message_html("#heat: x") == "#heat: x"
    assert message_html("#endmeeting") == '<span class="cmd">#endmeeting</span>'
    assert message_html("http://a.b/ c") == '<a href="http://a.b/">http://a.b/</a> c'


def test_minutes_items_link_to_their_log_lines() -> None:
    record = meeting(
        topic='<b>Big</b> & "quoted"',
        items=(item(2, "topic", "Start"), item(3, "action", "bob: do <it>"), item(4, "info", "x")),
    )
    root = parse(render_html_minutes(record, "http://m.example/a.log.html", "a.log.html"))
    assert root.findtext("head/title") == '#openstack-meeting: <b>Big</b> & "quoted"'
    assert root.findtext("body/h1") == '#openstack-meeting: <b>Big</b> & "quoted"'
    assert [h.text for h in root.iter("h3")] == [
        "Meeting summary",
        "Action items",
        "Action items, by person",
        "People present (lines said)",
    ]
    assert hrefs(root) == [
        "http://m.example/a.log.html",
        "a.log.html#l-2",
        "a.log.html#l-3",
        "a.log.html#l-4",
        "http://wiki.debian.org/MeetBot",
    ]
    types = [i.text for i in root.iter("i") if i.get("class") == "itemtype"]
    assert types == ["ACTION"]
    details = "".join(root.find("body/p").itertext())  # type: ignore[union-attr]
    assert details == "Meeting started by alice at 20:01:10 UTC (full logs)."


def test_minutes_never_link_unsafe_configured_urls() -> None:
    record = meeting(info_url="javascript:alert(1)")
    root = parse(render_html_minutes(record, "javascript:x()", "a.log.html"))
    assert all(not h.startswith("javascript") for h in hrefs(root))
    assert "Generated by Gavel 1.0.0" in "".join(root.itertext())


def test_an_empty_running_meeting_still_makes_valid_pages() -> None:
    record = meeting(lines=(), items=(), votes=(), chairs=(), end=None, topic=None)
    log = parse(render_log_html(record))
    assert list(log.iter("a")) == []
    minutes = parse(render_html_minutes(record, "", "a.log.html"))
    text = "".join(minutes.itertext())
    assert "Meeting ended at 20:01:10 UTC.\nThe meeting is still in progress" in text
    assert "(none)" in text
