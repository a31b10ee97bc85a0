"""Reads minutes the way archive viewers and scripts read MeetBot's, for compatibility tests.

Fedora's archive viewer and similar tools take the title from `<title>`, the times from the
"Meeting started by ... at ..." and "Meeting ended at ... UTC" sentences (failing when the
end is missing), the topics from `b.TOPIC` (class matched case-sensitively) with the lettered
list beside each, the action items from the first `<ol>` after the "Action items" heading and
the people from the `<ol>` after "People present". This module does the same with the
standard library's HTML parser, and nothing more lenient, so a test fails where they would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = frozenset({"meta", "br", "link", "img", "hr", "input"})
_DETAILS = re.compile(r"\s*\([^()]*, \d\d:\d\d:\d\d\)$")


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def elements(self) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node)]

    def walk(self) -> list[Node]:
        """Every element below this one, in document order."""
        found: list[Node] = []
        for child in self.elements():
            found.append(child)
            found.extend(child.walk())
        return found


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def tree(page: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


@dataclass(frozen=True)
class MinutesSummary:
    title: str
    owner: str
    started: str
    ended: str
    topics: list[tuple[str, list[str]]]
    before_topics: list[str]
    actions: list[str]
    people: list[str]


def _item_text(li: Node) -> str:
    """An item's text without its `(nick, HH:MM:SS)` attribution."""
    return _DETAILS.sub("", " ".join(li.text().split()))


def _list_after(nodes: list[Node], heading: str) -> Node:
    at = next(i for i, n in enumerate(nodes) if n.tag == "h3" and n.text() == heading)
    return next(n for n in nodes[at + 1 :] if n.tag == "ol")


def read_minutes(page: str) -> MinutesSummary:
    """The summary a MeetBot consumer takes from a minutes page; raises where it would."""
    root = tree(page)
    nodes = root.walk()
    text = " ".join(root.text().split())
    started = re.search(r"Meeting started by (\S+) at (\d\d:\d\d:\d\d) UTC", text)
    ended = re.search(r"Meeting ended at (\d\d:\d\d:\d\d) UTC", text)
    if started is None or ended is None:
        raise ValueError("no start or end time")
    title = next(n for n in nodes if n.tag == "title").text()
    topics = []
    for b in nodes:
        if b.tag == "b" and b.attrs.get("class") == "TOPIC":
            parent = next(n for n in nodes if b in n.children)
            sub = [ol for ol in parent.elements() if ol.tag == "ol"]
            items = [_item_text(li) for li in sub[0].elements()] if sub else []
            topics.append((b.text(), items))
    summary = _list_after(nodes, "Meeting summary").elements()
    before: list[str] = []
    if summary and not any(n.tag == "b" for n in summary[0].elements()):
        nested = summary[0].elements()
        assert [n.tag for n in nested] == ["ol"] and nested[0].attrs.get("type") == "a"
        before = [_item_text(li) for li in nested[0].elements()]
    actions = [_item_text(li) for li in _list_after(nodes, "Action items").elements()]
    people = [li.text() for li in _list_after(nodes, "People present (lines said)").elements()]
    actions, people = _none_is_empty(actions), _none_is_empty(people)
    return MinutesSummary(
        title=title,
        owner=started.group(1),
        started=started.group(2),
        ended=ended.group(1),
        topics=topics,
        before_topics=before,
        actions=actions,
        people=people,
    )


def text_action_items(minutes_text: str) -> list[str]:
    """The action items as a script takes them from the `.txt` minutes: what follows the
    heading up to the next section, one `* ` bullet each (continuations joined)."""
    match = _TEXT_ACTIONS.search(minutes_text)
    if match is None:
        raise ValueError("no action items section")
    bullets = re.split(r"^\* ", match.group(1).strip("\n"), flags=re.MULTILINE)
    return _none_is_empty([" ".join(b.split()) for b in bullets if b.strip()])


# What follows the heading, up to the next `Heading\n-------` (or the end).
_TEXT_ACTIONS = re.compile(
    r"^Action items\n------------\n(.*?)(?=^[^\n]+\n-+\n|\Z)", re.MULTILINE | re.DOTALL
)


def _none_is_empty(entries: list[str]) -> list[str]:
    """MeetBot writes an empty list as the one entry `(none)`."""
    return [] if entries == ["(none)"] else entries
