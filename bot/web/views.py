"""What the archive's pages and answers show, shaped from the store's reads: pure data in,
data out, shared by the web handlers and the static indexes.

The handlers in `bot.web.app` call these and a template, and format nothing themselves.
Nothing here does I/O or imports aiohttp.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from bot.archive import results
from bot.archive.query import SearchPlan
from bot.core.record import LINE_ACTION, SUCCESS, THANKS, Gap, Item, MeetingRecord
from bot.core.timefmt import clock, zone
from bot.settings import Settings
from bot.store.archive_reads import (
    READERS,
    ArchiveReader,
    LiveNews,
    MeetingRow,
    Page,
    Paged,
    SeriesRow,
    SuccessPage,
)
from bot.store.search import SearchAnswer
from bot.web.templating import (
    irc,
    irc_line,
    meeting_url,
    nick_hue,
    plain,
    series_url,
    when,
)
from bot.writers.gaps import MARK, gap_text, with_gaps
from bot.writers.gaps import gap_notes as writers_gap_notes
from bot.writers.htmlsafe import plain_html, text_html
from bot.writers.loghtml import message_html
from bot.writers.paths import url_for
from bot.writers.projection import label
from bot.writers.times import CLOCK, line_times

FILE_LABELS = {
    ".html": "Minutes (HTML)",
    ".txt": "Minutes (text)",
    ".log.html": "Log (HTML)",
    ".log.txt": "Log (text)",
    ".json": "Record (JSON)",
}


def log_html(record: MeetingRecord) -> Markup:
    """Every line of the log as HTML: its anchor `l-N`, its clock in the meeting's zone, the
    nick in its colour, the text cleaned, escaped and marked up by the writers' own functions
    (as in the published `.log.html`), and each gap in recording at its place, as there.
    Built here rather than in a template because a long meeting has tens of thousands of
    lines, and a template costs several times more per line."""
    tz = zone(record.timezone)

    def gap_line(gap: Gap, count: int) -> str:
        # `gap-N`, not `l-N`: those are the recorded lines, which the minutes and search link to.
        return (
            f'<div class="line gap" id="gap-{count}"><a class="tm" href="#gap-{count}">'
            f'{clock(gap.start, tz)}</a> <span class="gp">{MARK} {escape(gap_text(gap, tz))}'
            "</span></div>\n"
        )

    return Markup("".join(with_gaps(_log_lines(record), record, gap_line)))


def _log_lines(record: MeetingRecord) -> Iterator[str]:
    """Each recorded line of the log as HTML, in order."""
    said: dict[str, str] = {}
    did: dict[str, str] = {}
    for (n, who, kind, text), stamp in zip(record.lines.rows(), line_times(record), strict=True):
        head = f'<div class="line{" act" if kind == LINE_ACTION else ""}" id="l-{n}">'
        anchor = f'<a class="tm" href="#l-{n}">{stamp[CLOCK]}</a> '
        if kind == LINE_ACTION:
            nick = did.get(who)
            if nick is None:
                nick = did[who] = f'<span class="nk h{nick_hue(who)}">* {plain_html(who)}</span> '
            yield f'{head}{anchor}{nick}<span class="ac">{text_html(text)}</span></div>\n'
        else:
            nick = said.get(who)
            if nick is None:
                nick = said[who] = (
                    f'<span class="nk h{nick_hue(who)}">&lt;{plain_html(who)}&gt;</span> '
                )
            yield f'{head}{anchor}{nick}<span class="tx">{message_html(text)}</span></div>\n'


def gap_notes(record: MeetingRecord) -> list[str]:
    """One sentence per gap in recording, for the minutes page, as the published minutes
    have them; the k-th is the log page's `gap-k`."""
    return writers_gap_notes(record)


def private_channels(settings: Settings) -> list[tuple[str, str]]:
    """(network, channel) of every channel the configuration calls private."""
    return [(n.name, c.name) for n in settings.networks for c in n.channels if c.private]


async def open_reader(settings: Settings, readers: int = READERS) -> ArchiveReader:
    """The archive of `settings`, read-only, hiding the configured private channels."""
    return await ArchiveReader.open(
        settings.storage.path, settings.archive.aliases, readers, private_channels(settings)
    )


def file_links(settings: Settings, row: MeetingRow) -> list[tuple[str, str]]:
    """(label, URL) of the meeting's five published files; none when it has no files yet
    or the files have no public URL."""
    output, _ = settings.output_for(row.network, row.channel)
    prefix = output.url_prefix
    if row.file_base is None or not prefix:
        return []
    order = (".html", ".txt", ".log.html", ".log.txt", ".json")
    return [(FILE_LABELS[ext], url_for(prefix, row.file_base + ext)) for ext in order]


def files_path(settings: Settings) -> str | None:
    """The URL path under which `gavel web` serves the output directory: the path of
    `output.url_prefix` (`/meetings/` for `http://host/meetings/`), or None when that path
    is the site's root or one of the archive's own routes."""
    path = urlsplit(settings.output.url_prefix).path
    if not path.startswith("/") or path.strip("/") == "":
        return None
    path = "/" + path.strip("/") + "/"
    first = path.split("/")[1]
    if first in RESERVED_PATHS:
        return None
    return path


RESERVED_PATHS = frozenset(
    {"series", "channel", "date", "meeting", "person", "search", "api", "static", "feed.atom"}
    | {"successes", "thanks"}
)


def _row_json(row: MeetingRow, base_url: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "network": row.network,
        "channel": row.channel,
        "name": row.name,
        "series": row.series,
        "topic": row.topic,
        "start": row.start.isoformat(),
        "end": row.end.isoformat() if row.end else None,
        "lines": row.lines,
        "url": base_url + meeting_url(row.id),
    }


def series_json(series: tuple[SeriesRow, ...], base_url: str) -> dict[str, Any]:
    return {
        "series": [
            {
                "network": s.network,
                "name": s.name,
                "meetings": s.meetings,
                "first": s.first.isoformat(),
                "last": s.last.isoformat(),
                "latest_meeting_id": s.last_id,
                "url": base_url + series_url(s.network, s.name),
            }
            for s in series
        ]
    }


def page_json(network: str, name: str, page: Page, base_url: str) -> dict[str, Any]:
    return {
        "network": network,
        "series": name,
        "page": page.page,
        "pages": page.pages,
        "per_page": page.per_page,
        "total": page.total,
        "meetings": [_row_json(r, base_url) for r in page.rows],
    }


# The two pages of what the bot keeps between meetings: path -> (kind, title, command).
SUCCESS_PAGES = {
    "successes": (SUCCESS, "Successes", "#success"),
    "thanks": (THANKS, "Thanks", "#thanks"),
}


def successes_json(found: SuccessPage, base_url: str) -> dict[str, Any]:
    return {
        "kind": found.kind,
        "page": found.page,
        "pages": found.pages,
        "per_page": found.per_page,
        "total": found.total,
        "entries": [
            {
                "id": s.id,
                "kind": s.kind,
                "time": s.time.isoformat(),
                "network": s.network,
                "channel": s.channel,
                "nick": s.nick,
                "text": s.text,
                "meeting_id": s.meeting_id,
                "log_url": None
                if s.meeting_id is None
                else f"{base_url}{meeting_url(s.meeting_id)}/log",
            }
            for s in found.rows
        ],
    }


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1) + "\n"


def live_line(n: int, moment: datetime, nick: str, kind: str, text: str, tz: str) -> str:
    """One line for the live view, as JSON: the text as HTML made by the same escaping and
    marking as the log page (the script inserts it as-is; it holds nothing from IRC that
    escaping has not made inert)."""
    html = irc(text) if kind == LINE_ACTION else irc_line(text)
    return json.dumps(
        {
            "n": n,
            "clock": when(moment, tz, "%H:%M:%S"),
            "nick": plain(nick),
            "hue": nick_hue(nick),
            "action": kind == LINE_ACTION,
            "html": str(html),
        }
    )


def live_item(item: Item, tz: str) -> str:
    return json.dumps(
        {
            "id": item.id,
            "kind": item.kind,
            "label": label(item.kind),
            "html": str(irc(item.text)),
            "nick": plain(item.nick),
            "clock": when(item.time, tz, "%H:%M:%S"),
            "line": item.line,
        }
    )


def live_events(news: LiveNews, shown: tuple[int, ...] | None) -> list[bytes]:
    """The server-sent events that bring a live page up to date: a `line` per new line (its
    number as the event id, so a reconnecting browser says where it got to), an `item` per
    new item, and `items` (the ids still standing) when those differ from `shown`."""
    frames = [
        f"event: line\nid: {line[0]}\ndata: {live_line(*line, news.timezone)}\n\n"
        for line in news.lines
    ]
    frames += [f"event: item\ndata: {live_item(i, news.timezone)}\n\n" for i in news.items]
    if news.item_ids != shown:
        frames.append(f"event: items\ndata: {json.dumps(list(news.item_ids))}\n\n")
    return [frame.encode() for frame in frames]


def live_end(path: str) -> bytes:
    return f"event: end\ndata: {path}\n\n".encode()


# A comment line the browser ignores; writing it also finds out when the reader has gone.
LIVE_KEEPALIVE = b": still here\n\n"
# The whole answer when a stream cannot begin now (its meeting's reads have stopped): no
# event, only how long the browser's EventSource waits before it asks again.
LIVE_RETRY = b"retry: 3000\n\n"


def parse_day(text: str) -> date | None:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if len(text) == 10 else None


def parse_month(text: str) -> tuple[int, int] | None:
    year, dash, month = text.partition("-")
    if not (dash and len(year) == 4 and len(month) == 2 and year.isdigit() and month.isdigit()):
        return None
    if not 1 <= int(month) <= 12 or int(year) < 1:
        return None
    return int(year), int(month)


def today() -> date:
    return datetime.now(UTC).date()


SEARCH_PER_PAGE = 20


@dataclass(frozen=True, slots=True)
class SearchPage(Paged):
    """One page of a search's answer, as the page and the API show it."""

    query: str
    total: int  # matches counted, up to the search's cap
    more: bool  # there are more than `total`
    page: int
    per_page: int
    results: list[dict[str, Any]]

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1


def search_json(found: SearchPage) -> dict[str, Any]:
    """The API's answer: the spec's `{"query", "total", "results"}`, with the page."""
    return {
        "query": found.query,
        "total": found.total,
        "more": found.more,
        "page": found.page,
        "per_page": found.per_page,
        "results": found.results,
    }


def search_results(
    settings: Settings, answer: SearchAnswer, plan: SearchPlan, base_url: str
) -> list[dict[str, Any]]:
    """Each hit as the API's result object (the CLI's `--json` fields) plus `log_url`, the
    web's log page at the line, and `highlight`, the line as HTML with the matches marked."""

    def prefix(network: str, channel: str) -> str:
        return settings.output_for(network, channel)[0].url_prefix

    found = results.views(answer.hits, plan, settings.archive.aliases, prefix)
    shaped = results.as_json("", answer.total, answer.capped, found)["results"]
    assert isinstance(shaped, list)
    for row, hit in zip(shaped, found, strict=True):
        row["log_url"] = f"{base_url}{meeting_url(hit.meeting_id)}/log#l-{hit.line:d}"
        row["highlight"] = hit_html(hit.pieces)
    return shaped


def hit_html(pieces: tuple[tuple[str, bool], ...]) -> Markup:
    """The line as HTML: IRC formatting and control characters dropped, everything escaped,
    the matches in `<mark>`."""
    return Markup(
        "".join(
            f"<mark>{escape(plain(text))}</mark>" if hit else str(escape(plain(text)))
            for text, hit in pieces
        )
    )
