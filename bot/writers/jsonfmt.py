"""The `.json` record (`gavel-meeting/1`): everything known about a meeting, for tools.

The layout is stable and diff-friendly: one top-level key per line and one list element per
line, with the keys that identify the meeting first (`publish` reads them back to tell its
own files from another meeting's). Times are ISO 8601 in the meeting's time zone, with the
offset. `docs/json-format.md` documents every field and a test holds the two together;
change both or neither. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from bot import __version__
from bot.core.linelog import LineLog
from bot.core.record import Gap, MeetingRecord, Presence, VoteRecord
from bot.core.timefmt import zone
from bot.writers.projection import Attendee, attendees
from bot.writers.times import iso as in_zone
from bot.writers.times import line_times

FORMAT = "gavel-meeting/1"
# The keys `publish` needs to recognise a meeting's files; they come first in the file.
IDENTITY_KEYS = ("format", "id", "network", "channel", "start")

# The C string encoder json.dumps itself uses: calling it directly keeps a 20,000-line log
# from paying json.dumps' per-call set-up once per field.
_string: Callable[[str], str] = json.encoder.encode_basestring

Iso = Callable[[datetime], str]


class _Rows:
    """A JSON list whose elements are encoded lazily, one at a time."""

    def __init__(self, rows: Iterable[str]) -> None:
        self.rows = rows


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _list(key: str, rows: Iterable[str]) -> Iterator[str]:
    opened = False
    for row in rows:
        yield f",\n    {row}" if opened else f'  "{key}": [\n    {row}'
        opened = True
    yield "\n  ]" if opened else f'  "{key}": []'


def _layout(fields: Iterable[tuple[str, Any]]) -> Iterator[str]:
    yield "{\n"
    separator = ""
    for key, value in fields:
        yield separator
        separator = ",\n"
        if isinstance(value, _Rows):
            yield from _list(key, value.rows)
        elif isinstance(value, list):
            yield from _list(key, (_dumps(v) for v in value))
        else:
            yield f'  "{key}": {_dumps(value)}'
    yield "\n}\n"


def _vote(vote: VoteRecord, iso: Iso) -> dict[str, Any]:
    return {
        "id": vote.id,
        "question": vote.question,
        "options": list(vote.options),
        "opened_by": vote.opened_by,
        "opened_at": iso(vote.opened_at),
        "opened_line": vote.opened_line,
        "closed_at": iso(vote.closed_at) if vote.closed_at is not None else None,
        "closed_line": vote.closed_line,
        "ballots": [
            {"nick": b.nick, "option": b.option, "account": b.account} for b in vote.ballots
        ],
        "results": [{"option": o, "count": vote.count(o)} for o in vote.options],
    }


def _presence(event: Presence, iso: Iso) -> dict[str, Any]:
    return {"time": iso(event.time), "kind": event.kind, "nick": event.nick, "detail": event.detail}


def _gap(gap: Gap, iso: Iso) -> dict[str, Any]:
    return {"start": iso(gap.start), "end": iso(gap.end), "reason": gap.reason}


def _files(base: str) -> dict[str, str]:
    return {
        "log_text": f"{base}.log.txt",
        "log_html": f"{base}.log.html",
        "minutes_text": f"{base}.txt",
        "minutes_html": f"{base}.html",
    }


def _line_rows(lines: LineLog, times: Iterable[str]) -> Iterator[str]:
    string = _string
    for (n, nick, kind, text), time in zip(lines.rows(), times, strict=True):
        yield (
            f'{{"n": {n}, "time": "{time}", "nick": {string(nick)}, '
            f'"kind": {string(kind)}, "text": {string(text)}}}'
        )


def iter_json(
    record: MeetingRecord,
    base: str,
    times: Sequence[str] | None = None,
    people: Sequence[Attendee] | None = None,
) -> Iterator[str]:
    """The `.json` file in pieces; `base` is the files' relative path without extension,
    `times` as `line_times`, `people` as `attendees` when the caller has them already."""
    iso = partial(in_zone, tz=zone(record.timezone))
    stamps = line_times(record) if times is None else times
    present = attendees(record) if people is None else people
    items = [
        {
            "id": item.id,
            "kind": item.kind,
            "text": item.text,
            "nick": item.nick,
            "time": iso(item.time),
            "line": item.line,
            **({"url": item.url} if item.url is not None else {}),
        }
        for item in record.items
    ]
    return _layout(
        [
            ("format", FORMAT),
            ("id", record.id),
            ("network", record.network),
            ("channel", record.channel),
            ("start", iso(record.start)),
            ("end", iso(record.end) if record.end is not None else None),
            ("timezone", record.timezone),
            ("name", record.name),
            ("topic", record.topic),
            ("owner", record.owner),
            ("owner_account", record.owner_account),
            ("chairs", [{"nick": c.nick, "account": c.account} for c in record.chairs]),
            ("length_minutes", record.length_minutes),
            ("restricted", record.restricted),
            ("bot_nick", record.bot_nick),
            ("casemapping", record.casemapping),
            ("info_url", record.info_url),
            ("generator", {"name": "Gavel", "version": __version__}),
            ("files", _files(base)),
            ("attendees", [{"nick": a.nick, "lines": a.lines} for a in present]),
            ("named", [{"nick": n.nick, "line": n.line} for n in record.named]),
            ("items", items),
            ("votes", [_vote(v, iso) for v in record.votes]),
            ("presence", [_presence(p, iso) for p in record.presence]),
            ("gaps", [_gap(g, iso) for g in record.gaps]),
            ("lines", _Rows(_line_rows(record.lines, stamps))),
        ]
    )


def render_json(record: MeetingRecord, base: str) -> str:
    """The whole `.json` file."""
    return "".join(iter_json(record, base))
