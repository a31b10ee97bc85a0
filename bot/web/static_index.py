"""Static `index.html` pages in the output directory, for sites that serve files only.

At each publish the top-level `index.html` (every series) and the published meeting's series
`index.html` (its meetings, newest first) are rendered from the web archive's templates and
written atomically with the writers' own atomic write. The series index sits in the series'
directory (`NAME/index.html`, the directory the default file pattern puts its meetings in;
`NETWORK/NAME/index.html` when the configuration has several networks). Only public meetings
are listed. No aiohttp here: the bot imports this module.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import structlog

from bot.settings import Settings
from bot.store.archive_reads import ArchiveReader, MeetingRow, SeriesRow
from bot.web.templating import render
from bot.web.views import open_reader
from bot.writers.paths import contained, sanitise_value, url_for
from bot.writers.publish import FILE_MODE, remove_stale_temporaries, write_atomic

log = structlog.get_logger("gavel.static_index")

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = "index.html"


@cache
def _css() -> str:
    return (STATIC_DIR / "gavel.css").read_text(encoding="utf-8")


def series_dir(settings: Settings, network: str, name: str) -> str:
    """The series' directory, relative to the output directory (names made safe)."""
    safe = sanitise_value(name) or "_"
    if len(settings.networks) > 1:
        return f"{sanitise_value(network) or '_'}/{safe}"
    return safe


@dataclass(frozen=True, slots=True)
class IndexPage:
    path: str  # relative to the output directory
    html: str | None  # None: the series has no public meeting left, its index goes


def _context(settings: Settings, home_href: str) -> dict[str, object]:
    base = settings.web.base_url
    return {
        "site_title": settings.web.title,
        "inline_css": _css(),
        "search_action": f"{base}/search" if base else "",
        "home_href": home_href,
    }


def _relative(path: str, start: str) -> str:
    return os.path.relpath(path, start or ".")


def top_page(settings: Settings, series: tuple[SeriesRow, ...]) -> IndexPage:
    def series_href(s: SeriesRow) -> str:
        return f"{series_dir(settings, s.network, s.name)}/{INDEX}"

    html = render(
        "web/static_top.html",
        {**_context(settings, INDEX), "series": series, "series_href": series_href},
    )
    return IndexPage(INDEX, html)


def series_page(
    settings: Settings, network: str, name: str, rows: tuple[MeetingRow, ...]
) -> IndexPage:
    directory = series_dir(settings, network, name)
    links = []
    for row in rows:
        if row.file_base is None:
            continue  # running, never saved: no files to link yet
        output, _ = settings.output_for(row.network, row.channel)
        if output.dir == settings.output.dir:
            links.append(
                (
                    row,
                    _relative(row.file_base + ".html", directory),
                    _relative(row.file_base + ".log.html", directory),
                )
            )
        elif output.url_prefix:
            base = url_for(output.url_prefix, row.file_base)
            links.append((row, base + ".html", base + ".log.html"))
    home = _relative(INDEX, directory)
    html = render(
        "web/static_series.html",
        {**_context(settings, home), "network": network, "name": name, "rows": links},
    )
    return IndexPage(f"{directory}/{INDEX}", html)


def write_pages(root: Path, pages: list[IndexPage], *, durable: bool = True) -> None:
    """Each page replaced atomically. Without `durable` not synced to the disk: after each
    publish the indexes are derived again from the database, so one a crash of the machine
    takes back is made again by the next publish (or `gavel regenerate`)."""
    for page in pages:
        path = contained(root, page.path)
        if page.html is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path.parent)  # left by a crash in the middle of a write
        write_atomic(path, [page.html], FILE_MODE, durable=durable)


async def index_pages(
    settings: Settings,
    reader: ArchiveReader,
    series: Iterable[tuple[str, str]],
    *,
    drop_empty: bool = False,
) -> Callable[[], list[IndexPage]]:
    """Reads what the top index and the index of each of `series` ((network, name), names
    after aliases) show; returns the rendering, to run off the event loop. With
    `drop_empty`, a series left without public meetings (its last one redacted) loses its
    index."""
    listed = await reader.series_list()
    wanted = sorted({(network, reader.aliases.canonical(name)) for network, name in series})
    each = [(network, name, await reader.series_all(network, name)) for network, name in wanted]

    def pages() -> list[IndexPage]:
        built = [top_page(settings, listed)]
        for network, name, rows in each:
            if rows:
                built.append(series_page(settings, network, name, rows))
            elif drop_empty:
                built.append(IndexPage(f"{series_dir(settings, network, name)}/{INDEX}", None))
        return built

    return pages


async def all_index_pages(
    settings: Settings, reader: ArchiveReader
) -> Callable[[], list[IndexPage]]:
    """Reads what the top index and every series' index show; returns the rendering."""
    series = await reader.series_list()
    each = [(s, await reader.series_all(s.network, s.name)) for s in series]

    def pages() -> list[IndexPage]:
        built = [top_page(settings, series)]
        built += [series_page(settings, s.network, s.name, rows) for s, rows in each]
        return built

    return pages


async def _write(
    settings: Settings,
    read: Callable[[ArchiveReader], Awaitable[Callable[[], list[IndexPage]]]],
    executor: Executor | None,
    *,
    durable: bool = True,
) -> None:
    reader = await open_reader(settings, 1)
    try:
        render_pages = await read(reader)
    finally:
        await reader.close()

    def work() -> None:  # rendering and writing, both in a worker thread
        write_pages(settings.output.dir, render_pages(), durable=durable)

    await asyncio.get_running_loop().run_in_executor(executor, work)


async def write_all_indexes(settings: Settings, executor: Executor | None = None) -> None:
    """Rewrite every index (after `gavel regenerate --all`); failures are logged."""
    try:
        await _write(settings, lambda reader: all_index_pages(settings, reader), executor)
    except Exception as exc:  # an index is a convenience; the minutes are what matter
        log.warning("static_index_failed", error=str(exc))


async def write_indexes(
    settings: Settings,
    series: Iterable[tuple[str, str]],
    executor: Executor | None = None,
    *,
    drop_empty: bool = False,
    durable: bool = True,
) -> None:
    """Rewrite the top index and the index of each of `series` ((network, name)) after
    meetings of theirs were published, rendering and writing in `executor` (None: asyncio's
    default). A failure is logged, never raised: the meetings' own files are already
    written. Without `durable` the pages are not synced (the service: every publish derives
    them again)."""
    series = list(series)
    try:
        await _write(
            settings,
            lambda reader: index_pages(settings, reader, series, drop_empty=drop_empty),
            executor,
            durable=durable,
        )
    except Exception as exc:  # an index is a convenience; the minutes are what matter
        log.warning("static_index_failed", series=series, error=str(exc))
