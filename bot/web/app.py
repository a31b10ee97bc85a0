"""`gavel web`: the archive over HTTP, on aiohttp, read-only, in its own process.

Routes call one store read and render one template; they do no SQL and no formatting of their
own. Only public meetings are ever shown: anything else answers 404, exactly as a meeting
that does not exist; a public meeting that was redacted answers 410 Gone. `/search` and its
API run the same search as `gavel search`, on the web's read-only connections. Every answer
carries a Content-Security-Policy without inline script and `nosniff`; no route writes
anything. This is the only module that imports aiohttp.web.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import signal
import stat
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from aiohttp import hdrs, web

from bot.archive.query import QueryError, parse_query
from bot.settings import Settings
from bot.store.archive_reads import (
    MAX_PAGE,
    MAX_PER_PAGE,
    PER_PAGE,
    ArchiveReader,
    LiveNews,
    MeetingView,
)
from bot.store.search import SearchTimeout
from bot.web import views
from bot.web.cache import Cached, PageCache
from bot.web.live import BACKLOG, TICK_SECONDS, Cursor, LiveHub, LiveStopped, MeetingGone, Viewer
from bot.web.templating import meeting_url, plain, render, series_url
from bot.writers.jsonfmt import render_json
from bot.writers.projection import project

log = structlog.get_logger("gavel.web")

STATIC_DIR = Path(__file__).resolve().parent / "static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
MAX_QUERY_CHARS = 2000  # a whole query string; the search box alone takes 500
MAX_NAME_CHARS = 200  # a network, series, channel or nick in a path
LIVE_MAX_SECONDS = 6 * 3600  # a live stream ends after this; the browser reconnects
LIVE_KEEPALIVE_SECONDS = 15.0  # a quiet stream says so this often (proxies, gone readers)
EVENT_STREAM = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
FEED_ENTRIES = 50
LIST_TTL = 2.0  # listings may lag the database by this much
MEETING_TTL = 30.0  # a finished meeting changes only by redaction
LIVE_TTL = 1.0  # a running meeting's minutes and log pages (the live view is never kept)
GZIP_LEVEL = 6  # zlib's default: most of the gain, a few milliseconds for a long log
GZIP_MIN_BYTES = 1024  # smaller bodies gain too little for their readers' work
TTL: web.ResponseKey[float] = web.ResponseKey("gavel_cache_seconds", float)
GZIPPED: web.ResponseKey[bytes] = web.ResponseKey("gavel_gzipped", bytes)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

READER: web.AppKey[ArchiveReader] = web.AppKey("reader", ArchiveReader)
CACHE: web.AppKey[PageCache] = web.AppKey("cache", PageCache)
PENDING: web.AppKey[dict[str, asyncio.Event]] = web.AppKey("pending", dict)
RENEWALS: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("renewals", set)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
LIVE: web.AppKey[LiveHub] = web.AppKey("live", LiveHub)


class BadRequest(Exception):
    """A request the archive cannot answer; the message is one sentence for the reader."""


class TooSlow(Exception):
    """A search stopped at its time limit; the message says so in one sentence."""


@dataclass(frozen=True, slots=True)
class _Site:
    title: str
    base_url: str


def _site(request: web.Request) -> _Site:
    web_settings = request.app[SETTINGS].web
    return _Site(web_settings.title, web_settings.base_url)


def _page_context(request: web.Request, **context: Any) -> dict[str, Any]:
    return {
        "site_title": _site(request).title,
        "search_action": "/search",
        "q": plain(request.query.get("q", "")),  # no control characters in the box
        **context,
    }


def _html(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    body = render(template, _page_context(request, **context))
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def _json(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="application/json")


# A meeting's pages and record grow with the meeting: for 20,000 lines its log page takes
# over a tenth of a second to render and half that again to compress, which on the event
# loop would hold up every other reader and the live streams. So they are made in a worker
# thread. The listings are paged: rendered in about half a millisecond, against a fifth of
# that for the thread's round trip, and the GIL lets the loop in only every few milliseconds
# anyway, so they stay on the loop.


def _gzipped(body: bytes) -> bytes | None:
    return gzip.compress(body, GZIP_LEVEL, mtime=0) if len(body) >= GZIP_MIN_BYTES else None


def _made(
    make: Callable[[], str], fits: Callable[[int], bool] | None
) -> tuple[bytes, bytes | None]:
    """The body `make` gives, encoded, and its compressed form if it is to be kept (`fits`
    says whether its size may be): a worker thread's work, all of it in one go."""
    body = make().encode()
    return body, _gzipped(body) if fits is not None and fits(len(body)) else None


async def _made_off_loop(
    request: web.Request, make: Callable[[], str], content_type: str, ttl: float | None
) -> web.Response:
    """The answer `make` gives, made in a worker thread; kept for `ttl` seconds if not None."""
    fits = request.app[CACHE].fits if ttl else None
    body, gzipped = await asyncio.to_thread(_made, make, fits)
    response = web.Response(body=body, content_type=content_type, charset="utf-8")
    if gzipped is not None:
        response[GZIPPED] = gzipped
    return response if ttl is None else _keep(response, ttl)


async def _meeting_page(
    request: web.Request, template: str, ttl: float | None, fill: Callable[[], dict[str, Any]]
) -> web.Response:
    """A page of one meeting: `fill` gives what the template shows beyond the site's own
    context, and is called in the worker thread, as the rendering is."""
    context = _page_context(request)

    def make() -> str:
        return render(template, {**context, **fill()})

    return await _made_off_loop(request, make, "text/html", ttl)


def _keep(response: web.Response, seconds: float) -> web.Response:
    """Let the same request be answered from the cache for `seconds`."""
    response[TTL] = seconds
    return response


def _meeting_ttl(view: MeetingView) -> float:
    return LIVE_TTL if view.row.running else MEETING_TTL


def _not_found() -> web.HTTPNotFound:
    return web.HTTPNotFound()


def _name(request: web.Request, key: str) -> str:
    value = request.match_info[key]
    if not value or len(value) > MAX_NAME_CHARS or not value.isprintable():
        raise BadRequest(f"The {key} in this address is not a name the archive can look up.")
    return value


def _page_number(request: web.Request) -> int:
    text = request.query.get("page", "1")
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise BadRequest(f"page must be a whole number from 1 to {MAX_PAGE}, not {text[:20]!r}.")
    return int(text)


def _per_page(request: web.Request, default: int = PER_PAGE) -> int:
    text = request.query.get("per_page", str(default))
    if not text.isdigit() or not 1 <= int(text) <= MAX_PER_PAGE:
        raise BadRequest(f"per_page must be a whole number from 1 to {MAX_PER_PAGE}.")
    return int(text)


def _meeting_id(request: web.Request) -> int:
    text = request.match_info["id"]
    if not text.isdigit() or len(text) > 18:
        raise _not_found()
    return int(text)


# Handlers: one read, one template.


async def home(request: web.Request) -> web.Response:
    found = await request.app[READER].home()
    return _keep(_html(request, "web/home.html", home=found, today=views.today()), LIST_TTL)


async def series(request: web.Request) -> web.Response:
    network, name = _name(request, "network"), _name(request, "name")
    reader = request.app[READER]
    page = await reader.series_page(network, name, _page_number(request))
    if not page.rows:
        raise _not_found()
    canonical = reader.aliases.canonical(name)
    if canonical != name:
        raise web.HTTPMovedPermanently(series_url(network, canonical))
    aliases = reader.aliases.names_of(name)
    html = _html(request, "web/series.html", network=network, name=name, page=page, aliases=aliases)
    return _keep(html, LIST_TTL)


async def series_latest(request: web.Request) -> web.Response:
    network, name = _name(request, "network"), _name(request, "name")
    latest = await request.app[READER].latest_in_series(network, name)
    if latest is None:
        raise _not_found()
    raise web.HTTPFound(meeting_url(latest.id))


async def series_feed(request: web.Request) -> web.Response:
    network, name = _name(request, "network"), _name(request, "name")
    reader = request.app[READER]
    if (await reader.series_page(network, name, 1, 1)).total == 0:
        raise _not_found()
    rows = await reader.finished(network, name, FEED_ENTRIES)
    path = series_url(network, reader.aliases.canonical(name))
    return _feed(request, rows, f"{name} meetings on {network}", path)


async def feed(request: web.Request) -> web.Response:
    rows = await request.app[READER].finished(limit=FEED_ENTRIES)
    return _feed(request, rows, f"{_site(request).title}: latest meetings", "")


def _feed(request: web.Request, rows: Any, title: str, path: str) -> web.Response:
    base = _site(request).base_url or f"{request.scheme}://{request.host}"
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    newest = max((r.end for r in rows if r.end is not None), default=epoch)
    body = render(
        "web/feed.atom",
        {
            "feed_title": title,
            "feed_id": f"{base}{path}/feed.atom",
            "self_url": f"{base}{path}/feed.atom",
            "page_url": f"{base}{path or '/'}",
            "updated": newest.isoformat(),
            "rows": rows,
            "base_url": base,
        },
    )
    response = web.Response(text=body, content_type="application/atom+xml", charset="utf-8")
    # Without a configured base the links come from this request's Host header: kept, the
    # first visitor's Host would be every reader's.
    return _keep(response, LIST_TTL) if _site(request).base_url else response


async def channel(request: web.Request) -> web.Response:
    network, name = _name(request, "network"), _name(request, "channel")
    page = await request.app[READER].channel_page(network, name, _page_number(request))
    if not page.rows:
        raise _not_found()
    return _keep(
        _html(request, "web/channel.html", network=network, channel=name, page=page), LIST_TTL
    )


async def by_date(request: web.Request) -> web.Response:
    text = request.match_info["when"]
    reader = request.app[READER]
    day = views.parse_day(text)
    if day is not None:
        rows = await reader.day(day)
        html = _html(
            request,
            "web/day.html",
            day=day,
            rows=rows,
            previous=day - timedelta(days=1),
            following=day + timedelta(days=1),
        )
        return _keep(html, LIST_TTL)
    month = views.parse_month(text)
    if month is None:
        raise BadRequest(f"{text[:40]!r} is not a date (YYYY-MM-DD) or a month (YYYY-MM).")
    found = await reader.month(*month)
    return _keep(_html(request, "web/month.html", month=found), LIST_TTL)


async def _public_meeting(request: web.Request) -> MeetingView:
    meeting_id = _meeting_id(request)
    view = await request.app[READER].meeting(meeting_id)
    if view is None:
        raise await _missing(request, meeting_id)
    return view


async def _missing(request: web.Request, meeting_id: int) -> web.HTTPException:
    """410 for a public meeting that was redacted, else 404 (as for one never there)."""
    if await request.app[READER].gone(meeting_id):
        return web.HTTPGone()
    return _not_found()


async def meeting(request: web.Request) -> web.Response:
    view = await _public_meeting(request)
    files = views.file_links(request.app[SETTINGS], view.row)
    return await _meeting_page(
        request,
        "web/meeting.html",
        _meeting_ttl(view),
        lambda: {
            "view": view,
            "minutes": project(view.record),
            "gaps": views.gap_notes(view.record),
            "files": files,
        },
    )


async def meeting_log(request: web.Request) -> web.Response:
    view = await _public_meeting(request)
    return await _meeting_page(
        request,
        "web/log.html",
        _meeting_ttl(view),
        lambda: {"view": view, "log": views.log_html(view.record)},
    )


async def meeting_live(request: web.Request) -> web.Response:
    view = await _public_meeting(request)
    if not view.row.running:
        raise web.HTTPFound(meeting_url(view.row.id))
    record = view.record
    return await _meeting_page(
        request,
        "web/live.html",
        None,  # never kept: it must show the lines said up to now
        lambda: {
            "view": view,
            "log": views.log_html(record),
            "last_line": record.lines[-1].n if record.lines else 0,
            "last_item": max((i.id for i in record.items), default=0),
        },
    )


async def meeting_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events of a running meeting: `line` and `item` as they are recorded,
    `items` (the ids still standing), and `end` when it ends. Read from the database by
    the meeting's one poller (`bot.web.live`), shared by all its viewers: the web never
    talks to the bot."""
    meeting_id = _meeting_id(request)
    # A reconnecting browser says where it got to; that wins over the page's first cursor.
    cursor = Cursor(
        max(_cursor(request, "line"), _last_event_id(request)), _cursor(request, "item")
    )
    with request.app[LIVE].watch(meeting_id, cursor, _connected(request), _cut(request)) as viewer:
        try:
            news = await viewer.first()
        except MeetingGone:
            raise await _missing(request, meeting_id) from None
        except LiveStopped as exc:
            # A failed read, the web shutting down, the connection gone: an answer to come
            # back for, not one to give up on (an EventSource gives up for good on any but 200).
            log.info("live_stream_retry", meeting=meeting_id, why=str(exc) or type(exc).__name__)
            return web.Response(body=views.LIVE_RETRY, headers=EVENT_STREAM)
        response = web.StreamResponse(headers=EVENT_STREAM)
        await response.prepare(request)
        await _stream(response, viewer, news, meeting_url(meeting_id))
    return response


async def _stream(response: web.StreamResponse, viewer: Viewer, first: LiveNews, end: str) -> None:
    """Write the viewer's news as events, `first` and then each batch it is given, until
    the meeting's end (`end` is where its minutes are), the stream's time limit or the
    viewer's stop; a comment when nothing has been written for a while."""
    news: LiveNews | None = first
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LIVE_MAX_SECONDS
    shown: tuple[int, ...] | None = None
    quiet_since = loop.time()
    while True:
        if news is None:  # nothing new since the last write: say the stream is still there
            frames = [views.LIVE_KEEPALIVE]
        else:
            frames = views.live_events(news, shown)
            shown = news.item_ids
            if news.ended:
                frames.append(views.live_end(end))
        if frames:
            quiet_since = loop.time()
            try:
                await response.write(b"".join(frames))
            except ConnectionError:  # the reader has gone
                return
        if news is not None and news.ended:
            return
        try:
            news = await viewer.next(
                min(deadline, quiet_since + LIVE_KEEPALIVE_SECONDS) - loop.time()
            )
        except LiveStopped:
            return
        if news is None and loop.time() >= deadline:
            return


def _connected(request: web.Request) -> Callable[[], bool]:
    def connected() -> bool:
        transport = request.transport
        return transport is not None and not transport.is_closing()

    return connected


def _cut(request: web.Request) -> Callable[[], None]:
    def cut() -> None:
        transport = request.transport
        if transport is not None:
            # Not close(): that would wait for the reader to take what is buffered, and this
            # reader has stopped taking.
            transport.abort()

    return cut


def _last_event_id(request: web.Request) -> int:
    text = request.headers.get("Last-Event-ID", "")
    return int(text) if text.isdigit() and len(text) <= 12 else 0


def _cursor(request: web.Request, key: str) -> int:
    text = request.query.get(key, "0")
    if not text.isdigit() or len(text) > 12:
        raise BadRequest(f"{key} must be a whole number.")
    return int(text)


async def person(request: web.Request) -> web.Response:
    network, nick = _name(request, "network"), _name(request, "nick")
    found = await request.app[READER].person(network, nick, _page_number(request))
    if not found.meetings.rows and not found.actions:
        raise _not_found()
    return _keep(_html(request, "web/person.html", person=found), LIST_TTL)


def success_page(path: str) -> Handler:
    """`/successes` or `/thanks`: what was said with `#success` or `#thanks`, newest first."""
    kind, title, command = views.SUCCESS_PAGES[path]
    other = next(p for p in views.SUCCESS_PAGES if p != path)

    async def handler(request: web.Request) -> web.Response:
        found = await request.app[READER].successes(kind, _page_number(request))
        if not found.rows and found.page > 1:
            raise _not_found()
        html = _html(
            request,
            "web/successes.html",
            title=title,
            command=command,
            found=found,
            href=f"/{path}",
            other_href=f"/{other}",
            other_title=views.SUCCESS_PAGES[other][1],
        )
        return _keep(html, LIST_TTL)

    return handler


async def _search(request: web.Request, per_page: int) -> views.SearchPage:
    """The query's page of results, through the same search as `gavel search`; a query that
    cannot be understood is a bad request with the query language's own sentence."""
    query = request.query.get("q", "")
    page = _page_number(request)
    if not query.strip():
        return views.SearchPage(query, 0, False, page, per_page, [])
    try:
        plan = parse_query(query, request.app[SETTINGS].archive.aliases)
    except QueryError as exc:
        raise BadRequest(str(exc)) from None
    try:
        answer = await request.app[READER].search(plan, page, per_page)
    except SearchTimeout as exc:
        raise TooSlow(str(exc)) from None
    found = views.search_results(request.app[SETTINGS], answer, plan, _base_url(request))
    return views.SearchPage(query, answer.total, answer.capped, page, per_page, found)


async def search(request: web.Request) -> web.Response:
    found = await _search(request, views.SEARCH_PER_PAGE)
    return _keep(_html(request, "web/search.html", found=found), LIST_TTL)


# The JSON API.


def _base_url(request: web.Request) -> str:
    return _site(request).base_url


async def api_series(request: web.Request) -> web.Response:
    rows = await request.app[READER].series_list()
    return _keep(_json(views.dumps(views.series_json(rows, _base_url(request)))), LIST_TTL)


async def api_series_meetings(request: web.Request) -> web.Response:
    network, name = _name(request, "network"), _name(request, "name")
    page = await request.app[READER].series_page(
        network, name, _page_number(request), _per_page(request)
    )
    if page.total == 0 or (not page.rows and page.page > 1):
        raise _not_found()
    series = request.app[READER].aliases.canonical(name)
    body = views.dumps(views.page_json(network, series, page, _base_url(request)))
    return _keep(_json(body), LIST_TTL)


def api_successes(path: str) -> Handler:
    kind = views.SUCCESS_PAGES[path][0]

    async def handler(request: web.Request) -> web.Response:
        found = await request.app[READER].successes(kind, _page_number(request), _per_page(request))
        if not found.rows and found.page > 1:
            raise _not_found()
        return _keep(_json(views.dumps(views.successes_json(found, _base_url(request)))), LIST_TTL)

    return handler


async def api_search(request: web.Request) -> web.Response:
    found = await _search(request, _per_page(request, views.SEARCH_PER_PAGE))
    return _keep(_json(views.dumps(views.search_json(found))), LIST_TTL)


async def api_meeting(request: web.Request) -> web.Response:
    view = await _public_meeting(request)
    record, base = view.record, view.row.file_base or ""
    return await _made_off_loop(
        request, lambda: render_json(record, base), "application/json", _meeting_ttl(view)
    )


# The published files, for a site that has no other web server (`make run`).


def files_handler(root: Path) -> Handler:
    real_root = root.resolve()

    async def serve(request: web.Request) -> web.StreamResponse:
        path = _published_file(real_root, request.match_info["path"])
        if path is None:
            raise _not_found()
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    return serve


def _published_file(root: Path, relative: str) -> Path | None:
    """The world-readable regular file `relative` names inside `root`, or None; a directory
    (named with its trailing `/`) gives its `index.html`, the static index Gavel writes.

    Nothing outside `root` (after resolving links), no hidden or temporary file, and no
    file a `#restrictlogs` meeting made readable by its owner only."""
    if relative == "" or relative.endswith("/"):
        relative += "index.html"
    parts = relative.split("/")
    if not relative or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    candidate = (root / relative).resolve()
    if os.path.commonpath([root, candidate]) != str(root):
        return None
    try:
        info = candidate.stat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or not info.st_mode & stat.S_IROTH:
        return None
    return candidate


# Every answer's headers and error pages.


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method not in ("GET", "HEAD"):
        response: web.StreamResponse = _error(request, 405, "This archive is read-only.")
        response.headers["Allow"] = "GET, HEAD"
    elif len(request.query_string) > MAX_QUERY_CHARS:
        response = _error(request, 400, "The address is too long.")
    elif (hit := _from_cache(request)) is not None:
        response = hit
    elif (old := request.app[CACHE].stale(request.path_qs, time.monotonic())) is not None:
        _renew(request, handler)
        response = _kept_answer(request, old)
    else:
        try:
            response = await _once(request, handler)
        except BadRequest as exc:
            response = _error(request, 400, str(exc))
        except TooSlow as exc:
            response = _error(request, 503, str(exc))
        except web.HTTPGone:
            response = _error(request, 410, "This meeting was taken out of the archive.")
        except web.HTTPNotFound:
            response = _error(request, 404, "There is no such page or meeting in the archive.")
        except web.HTTPMethodNotAllowed:
            response = _error(request, 405, "This archive is read-only.")
    return response


async def _once(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer the request, and let the same requests that arrive meanwhile wait for this
    answer rather than each render the page again (when a kept page expires under load)."""
    key = request.path_qs
    if request.path.endswith("/events"):  # a stream lasts as long as its meeting
        return await handler(request)
    pending = request.app[PENDING]
    earlier = pending.get(key)
    if earlier is not None:
        await earlier.wait()
        hit = _from_cache(request)
        if hit is not None:
            return hit
    done = pending[key] = asyncio.Event()
    try:
        response = await handler(request)
        if _to_cache(request, response):  # answered as the next readers will be
            return _from_cache(request) or response
        return response
    finally:
        done.set()
        if pending.get(key) is done:
            del pending[key]


def _renew(request: web.Request, handler: Handler) -> None:
    """Make the next answer to a kept one past its time, in the background, unless a request
    is making it already; meanwhile readers get the kept one (within its grace)."""
    if request.path_qs in request.app[PENDING]:
        return
    renewals = request.app[RENEWALS]
    task = asyncio.create_task(_renewal(request, handler))
    renewals.add(task)  # held until done: the loop keeps only a weak reference
    task.add_done_callback(renewals.discard)


async def _renewal(request: web.Request, handler: Handler) -> None:
    try:
        await _once(request, handler)
    except Exception as exc:  # its readers still have the kept answer; the next one retries
        log.warning("web_renewal_failed", path=request.path, error=str(exc))


def _from_cache(request: web.Request) -> web.Response | None:
    hit = request.app[CACHE].get(request.path_qs, time.monotonic())
    return None if hit is None else _kept_answer(request, hit)


def _kept_answer(request: web.Request, hit: Cached) -> web.Response:
    content_type = hit.content_type
    if hit.charset is not None:
        content_type += f"; charset={hit.charset}"
    # The headers whole, rather than through Response's parsing setters: this is the path
    # most answers under load take.
    headers = {hdrs.CONTENT_TYPE: content_type, hdrs.VARY: "Accept-Encoding"}
    if hit.gzipped is not None and "gzip" in request.headers.get(hdrs.ACCEPT_ENCODING, ""):
        headers[hdrs.CONTENT_ENCODING] = "gzip"
        return web.Response(body=hit.gzipped, headers=headers)
    return web.Response(body=hit.body, headers=headers)


def _to_cache(request: web.Request, response: web.StreamResponse) -> bool:
    """Keep the answer, if it may be kept, with its gzip-compressed form: compressed once
    (here, or with a meeting's page in its worker thread), a page read by many is sent to
    each in a fraction of the bytes."""
    seconds = response.get(TTL)
    if not isinstance(response, web.Response) or not seconds or response.status != 200:
        return False
    body = response.body
    if not isinstance(body, bytes) or not request.app[CACHE].fits(len(body)):
        return False  # (and not compressed for nothing)
    expires = time.monotonic() + float(seconds)
    gzipped = response.get(GZIPPED)
    if gzipped is None:
        gzipped = _gzipped(body)
    # Kept answers may be given for one more listing's time while the next is made.
    cached = Cached(body, response.content_type, response.charset, expires, gzipped, LIST_TTL)
    request.app[CACHE].put(request.path_qs, cached)
    return True


async def security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    """Every answer's headers, set as it is about to be sent (so streams and static files
    get them too)."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"


HEADINGS = {
    400: "Bad request",
    404: "Not found",
    405: "Read-only",
    410: "Gone",
    503: "Search stopped",
}


def _error(request: web.Request, status: int, sentence: str) -> web.Response:
    if request.path.startswith("/api/"):
        return _json(views.dumps({"error": sentence}), status)
    return _html(
        request,
        "web/error.html",
        status,
        code=status,
        heading=HEADINGS.get(status, "Error"),
        sentence=sentence,
    )


def make_app(
    settings: Settings,
    reader: ArchiveReader,
    *,
    live_tick: float = TICK_SECONDS,
    live_backlog: int = BACKLOG,
) -> web.Application:
    """The archive's application. A live stream's news is read every `live_tick` seconds;
    a viewer `live_backlog` batches behind is dropped (see `bot.web.live`)."""
    app = web.Application(middlewares=[guard], client_max_size=1024)
    app.on_response_prepare.append(security_headers)
    app.on_shutdown.append(_stop_live)
    app[SETTINGS] = settings
    app[READER] = reader
    app[CACHE] = PageCache()
    app[PENDING] = {}
    app[RENEWALS] = set()
    app[LIVE] = LiveHub(reader.live_news, live_tick, live_backlog)
    get = app.router.add_get
    get("/", home)
    get("/feed.atom", feed)
    get("/series/{network}/{name}", series)
    get("/series/{network}/{name}/latest", series_latest)
    get("/series/{network}/{name}/feed.atom", series_feed)
    get("/channel/{network}/{channel}", channel)
    get("/date/{when}", by_date)
    get("/meeting/{id}", meeting)
    get("/meeting/{id}/log", meeting_log)
    get("/meeting/{id}/live", meeting_live)
    get("/meeting/{id}/events", meeting_events)
    get("/person/{network}/{nick}", person)
    get("/search", search)
    for path in views.SUCCESS_PAGES:
        get(f"/{path}", success_page(path))
        get(f"/api/v1/{path}", api_successes(path))
    get("/api/v1/series", api_series)
    get("/api/v1/series/{network}/{name}/meetings", api_series_meetings)
    get("/api/v1/meeting/{id}", api_meeting)
    get("/api/v1/search", api_search)
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)
    served = views.files_path(settings)
    if served is not None:
        get(served + "{path:.*}", files_handler(settings.output.dir))
    return app


async def _stop_live(app: web.Application) -> None:
    """End the live streams before the server waits for its open requests to finish."""
    await app[LIVE].close()


def lower_priority(nice: int, idle: bool) -> tuple[int, bool]:
    """Run at niceness `nice` at least (a higher `Nice=` from the service unit stays) and,
    with `idle`, under Linux's SCHED_IDLE policy, so that the bot, at its normal priority,
    is never slowed by readers of the archive. Returns the niceness now and whether the
    policy is SCHED_IDLE.

    Called before any thread starts: a thread's policy is its own and new threads take
    their creator's. Each is changed only when it must be: the service unit may have set
    both already and forbid the calls that change them."""
    now = os.getpriority(os.PRIO_PROCESS, 0)
    if now < nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
            now = nice
        except OSError as exc:
            log.warning("web_niceness_refused", nice=nice, error=str(exc))
    idle_policy = getattr(os, "SCHED_IDLE", None)
    if idle_policy is None:  # not Linux: the niceness alone
        return now, False
    if idle and os.sched_getscheduler(0) != idle_policy:
        try:
            os.sched_setscheduler(0, idle_policy, os.sched_param(0))
        except OSError as exc:
            log.warning("web_idle_policy_refused", error=str(exc))
    return now, os.sched_getscheduler(0) == idle_policy


async def serve(settings: Settings) -> int:
    """Run `gavel web` until SIGTERM or SIGINT."""
    niceness, idle = lower_priority(settings.web.nice, settings.web.idle)
    reader = await views.open_reader(settings)
    runner = web.AppRunner(make_app(settings, reader), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.web.host, settings.web.port)
    try:
        await site.start()
        url = f"http://{settings.web.host}:{settings.web.port}/"
        log.info("web_listening", url=url, nice=niceness, idle=idle)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
        await reader.close()
    return 0
