"""The pages and feeds of `#success` and `#thanks`, and the `gavel successes` formats.

Pure renderers: kept successes in, text out. The HTML page and the Atom feed come from the
Jinja2 templates in `bot/templates/` (autoescaped), which the web archive is meant to share.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING

from bot.core.record import SUCCESS, THANKS

if TYPE_CHECKING:
    import jinja2

PAGE = {SUCCESS: "successes.html", THANKS: "thanks.html"}
FEED = {SUCCESS: "successes.atom", THANKS: "thanks.atom"}
TITLE = {SUCCESS: "Successes", THANKS: "Thanks"}
FORMATS = ("newsletter", "markdown", "json")


@dataclass(frozen=True, slots=True)
class Entry:
    """One success as the pages show it; `log_url` links the log of its meeting."""

    id: int
    kind: str
    time: datetime
    network: str
    channel: str
    nick: str
    text: str
    log_url: str | None = None

    @property
    def anchor(self) -> str:
        return f"{self.kind}-{self.id}"

    @property
    def updated(self) -> str:
        return _atom_time(self.time)

    @property
    def atom_id(self) -> str:
        return f"tag:gavel,{self.time.astimezone(UTC):%Y-%m-%d}:{self.kind}/{self.id}"


@cache
def _environment() -> jinja2.Environment:
    # Imported on first use: the template library takes some 6 MB of memory, which a bot
    # that never hears a #success need not carry.
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("bot", "templates"),
        autoescape=jinja2.select_autoescape(("html", "xml")),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _atom_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_page(kind: str, entries: Sequence[Entry]) -> str:
    """`successes.html` / `thanks.html`: `entries` as given (newest first)."""
    template = _environment().get_template("successes.html")
    return template.render(title=TITLE[kind], feed_href=FEED[kind], entries=list(entries))


def render_feed(kind: str, entries: Sequence[Entry], page_url: str, now: datetime) -> str:
    """The Atom feed of the same entries; `now` stands for `updated` when there are none."""
    template = _environment().get_template("feed.xml")
    updated = entries[0].time if entries else now
    return template.render(
        title=TITLE[kind],
        feed_id=page_url or f"tag:gavel,2026:{kind}",
        page_url=page_url,
        updated=_atom_time(updated),
        entries=list(entries),
    )


def newsletter(entries: Sequence[Entry]) -> str:
    """The "Success Bot Says" list: one `• nick: text` a line, in the order given."""
    return "".join(f"• {e.nick}: {e.text}\n" for e in entries)


def markdown(entries: Sequence[Entry]) -> str:
    lines = []
    for e in entries:
        when = e.time.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        who = (
            f"[{e.nick} (on {e.channel})]({e.log_url})" if e.log_url else f"{e.nick} ({e.channel})"
        )
        lines.append(f"* {when} UTC {who}: {e.text}\n")
    return "".join(lines)


def as_json(entries: Sequence[Entry]) -> str:
    rows = [
        {
            "id": e.id,
            "kind": e.kind,
            "time": e.time.astimezone(UTC).isoformat(),
            "network": e.network,
            "channel": e.channel,
            "nick": e.nick,
            "text": e.text,
            "log_url": e.log_url,
        }
        for e in entries
    ]
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
