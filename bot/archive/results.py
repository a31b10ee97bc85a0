"""Search results shaped for people and programs: permalinks, the JSON answer, text lines.

Pure: the hits come from `bot.store.search`, the output settings from the configuration.
The JSON shape is the spec's: `{"query", "total", "results": [...]}` with one object per
matching line.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.archive.query import SearchPlan, Term, highlight
from bot.archive.series import SeriesAliases
from bot.core.timefmt import zone
from bot.writers.paths import LOG_HTML, url_for


@dataclass(frozen=True, slots=True)
class HitView:
    """What a result shows, whatever renders it."""

    meeting_id: int
    network: str
    channel: str
    series: str
    date: str  # YYYY-MM-DD, the meeting's day in its own zone
    time: str  # HH:MM:SS, the line's time in the meeting's zone
    nick: str
    line: int
    kind: str
    text: str
    url: str
    pieces: tuple[tuple[str, bool], ...]  # the text, matches marked True


class HitLike(Protocol):
    """The fields of a search hit (`bot.store.search.Hit`) this module reads."""

    @property
    def meeting_id(self) -> int: ...
    @property
    def network(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def series(self) -> str: ...
    @property
    def start(self) -> datetime: ...
    @property
    def timezone(self) -> str: ...
    @property
    def file_base(self) -> str | None: ...
    @property
    def line(self) -> int: ...
    @property
    def time(self) -> datetime: ...
    @property
    def nick(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str: ...


def permalink(url_prefix: str, file_base: str | None, line: int) -> str:
    """The link to line `line` of the meeting's published `.log.html` (empty without files)."""
    if file_base is None:
        return ""
    return f"{url_for(url_prefix, file_base + LOG_HTML)}#l-{line:d}"


def view(hit: HitLike, terms: tuple[Term, ...], aliases: SeriesAliases, url_prefix: str) -> HitView:
    tz = zone(hit.timezone)
    return HitView(
        meeting_id=hit.meeting_id,
        network=hit.network,
        channel=hit.channel,
        series=aliases.canonical(hit.series),
        date=hit.start.astimezone(tz).strftime("%Y-%m-%d"),
        time=hit.time.astimezone(tz).strftime("%H:%M:%S"),
        nick=hit.nick,
        line=hit.line,
        kind=hit.kind,
        text=hit.text,
        url=permalink(url_prefix, hit.file_base, hit.line),
        pieces=tuple(highlight(hit.text, terms)),
    )


def views(
    hits: Sequence[HitLike],
    plan: SearchPlan,
    aliases: SeriesAliases,
    url_prefix_of: Callable[[str, str], str],
) -> list[HitView]:
    return [view(h, plan.terms, aliases, url_prefix_of(h.network, h.channel)) for h in hits]


def highlighted_html(pieces: tuple[tuple[str, bool], ...]) -> str:
    """The line as HTML: everything escaped, matches in `<mark>`."""
    return "".join(
        f"<mark>{html.escape(text)}</mark>" if hit else html.escape(text) for text, hit in pieces
    )


def as_json(query: str, total: int, capped: bool, found: list[HitView]) -> dict[str, object]:
    return {
        "query": query,
        "total": total,
        "more": capped,
        "results": [
            {
                "meeting_id": v.meeting_id,
                "network": v.network,
                "channel": v.channel,
                "series": v.series,
                "date": v.date,
                "time": v.time,
                "nick": v.nick,
                "line": v.line,
                "kind": v.kind,
                "text": v.text,
                "highlight": highlighted_html(v.pieces),
                "url": v.url,
            }
            for v in found
        ],
    }


def _printable(text: str) -> str:
    # Control characters from IRC (colours, NUL, bidi overrides) must not drive the terminal.
    return "".join(c if c.isprintable() or c == " " else "\ufffd" for c in text)


def as_text(v: HitView, emphasis: tuple[str, str]) -> str:
    """Two lines for a terminal: where and who, then the link."""
    start, end = emphasis
    line = "".join(f"{start}{_printable(t)}{end}" if hit else _printable(t) for t, hit in v.pieces)
    kind = "" if v.kind == "line" else f"[{v.kind}] "
    where = f"{v.series}  {v.date}  {_printable(v.channel)}  {v.time}  <{_printable(v.nick)}>"
    return f"{where}  {kind}{line}\n    {v.url or f'meeting {v.meeting_id}, line {v.line}'}"
