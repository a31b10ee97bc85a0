"""The archive's one look: the Jinja2 environment shared by `gavel web` and the static indexes.

Autoescaping is on for every template; text from IRC reaches a page only through autoescaping
or through the filters below, which clean it (`displayable`) and escape it with the writers'
own functions (so the archive, the minutes and the logs escape the same way). URLs of the
archive are built here, in one place. This module renders; it must not read the database,
touch files or import aiohttp.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from bot import __version__
from bot.core.timefmt import zone
from bot.writers.htmlsafe import safe_href, text_html
from bot.writers.irctext import displayable
from bot.writers.loghtml import message_html
from bot.writers.projection import label

NICK_HUES = 8  # nicks take one of this many colours, by a hash of the nick


def seg(text: str) -> str:
    """One path segment of an archive URL: every character that could end or change the
    segment (`/`, `#`, `?`, `%`, spaces) percent-encoded."""
    return quote(text, safe="")


def series_url(network: str, name: str) -> str:
    return f"/series/{seg(network)}/{seg(name)}"


def channel_url(network: str, channel: str) -> str:
    return f"/channel/{seg(network)}/{seg(channel)}"


def person_url(network: str, nick: str) -> str:
    return f"/person/{seg(network)}/{seg(nick)}"


def meeting_url(meeting_id: int) -> str:
    return f"/meeting/{meeting_id:d}"


def day_url(day: date | datetime) -> str:
    return f"/date/{day:%Y-%m-%d}"


def month_url(year: int, month: int) -> str:
    return f"/date/{year:04d}-{month:02d}"


def nick_hue(nick: str) -> int:
    """The same nick always gets the same colour class, as in MeetBot's logs."""
    digest = hashlib.blake2s(nick.lower().encode("utf-8", "replace"), digest_size=2).digest()
    return int.from_bytes(digest, "big") % NICK_HUES


def irc(text: str) -> Markup:
    """IRC text as HTML: cleaned, escaped, safe links."""
    return Markup(text_html(text))


def irc_line(text: str) -> Markup:
    """A message of the log, with its command or addressee marked as in `.log.html`."""
    return Markup(message_html(text))


def plain(text: str) -> str:
    """IRC text cleaned of formatting and control characters (escaped by autoescaping)."""
    return displayable(text)


def href(url: str) -> str | None:
    """A configured URL, kept only when its scheme is safe (escaping is autoescaping's)."""
    return None if safe_href(url) is None else displayable(url).strip()


def when(moment: datetime, tz_name: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(zone(tz_name)).strftime(fmt)


def month_weeks(year: int, month: int) -> list[list[int]]:
    """The month's weeks, Monday first; 0 for days of the neighbouring months."""
    return calendar.Calendar(calendar.MONDAY).monthdayscalendar(year, month)


def month_name(year: int, month: int) -> str:
    return date(year, month, 1).strftime("%B %Y")


def neighbour_month(year: int, month: int, step: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + step
    return index // 12, index % 12 + 1


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bot", "templates"),
        autoescape=True,  # every template, whatever its name ends with
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,  # a page ends with a newline, like every file Gavel writes
    )
    env.filters.update(
        irc=irc,
        plain=plain,
        href=href,
        when=when,
        hue=nick_hue,
        label=label,
    )
    env.globals.update(
        series_url=series_url,
        channel_url=channel_url,
        person_url=person_url,
        meeting_url=meeting_url,
        day_url=day_url,
        month_url=month_url,
        month_weeks=month_weeks,
        month_name=month_name,
        neighbour_month=neighbour_month,
        version=__version__,
    )
    return env


def render(template: str, context: Mapping[str, Any]) -> str:
    """The page `template` (under `bot/templates/`) filled with `context`."""
    return environment().get_template(template).render(context)
