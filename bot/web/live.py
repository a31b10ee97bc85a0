"""A running meeting's live view, read from the database once per tick for all its viewers.

A meeting's first viewer starts its poller. The poller reads what is new once per tick, from
the earliest point any of its viewers is at, and queues each viewer the part it lacks; it
stops when its last viewer has left (or has been given the meeting's end), or when the
meeting is not public. Hundreds of viewers of one meeting make one read a tick, not hundreds.

No viewer is ever waited for: each has its own queue, and one that falls `backlog` batches
behind (its connection has stopped taking what is written to it) is dropped and its
connection cut, through the hook it gave. Its browser's EventSource then reconnects by itself,
saying the id of the last line it got (`Last-Event-ID`), and the new stream goes on from
there, so the viewer misses nothing and memory stays bounded.

A meeting that stops being public (made private with `#restrictlogs`, or redacted) is
never sent on: each viewer's queue is emptied, and the connection of one whose stream has begun
is cut, so that what was written to it and not yet taken goes no further. Its browser then
reconnects and is answered as for no meeting.

What a viewer is sent is decided by the pure functions at the top; the classes below only
schedule. No aiohttp and no SQL here: the hub is given the store's read and each viewer's
hooks by `bot.web.app`.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace

import structlog

from bot.store.archive_reads import LiveNews

log = structlog.get_logger("gavel.web.live")

TICK_SECONDS = 0.25  # new lines reach the page well within a second
# Ten seconds of a meeting in which something is said every tick. A viewer that far behind
# is better served by reconnecting from its last line than by a queue that keeps growing.
BACKLOG = 40

# The store's read of a running meeting: (meeting id, after line, after item) to its news,
# None when the meeting is not public.
Read = Callable[[int, int, int], Awaitable[LiveNews | None]]


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last line number and the last item id a viewer has been given (0: none yet)."""

    line: int
    item: int


def earliest(cursors: Iterable[Cursor]) -> Cursor:
    """Where one read must start for every viewer at `cursors` to find all it lacks."""
    found = list(cursors)
    return Cursor(min(c.line for c in found), min(c.item for c in found))


def news_after(news: LiveNews, cursor: Cursor) -> LiveNews:
    """The part of `news` that a viewer at `cursor` has not been given: the lines and items
    after it, with the standing items and the end as they are. `news` itself when that is
    all of it (the usual case, so that viewers at the same place share one object)."""
    first_line = bisect_right(news.lines, cursor.line, key=lambda line: line[0])
    first_item = bisect_right(news.items, cursor.item, key=lambda item: item.id)
    if first_line == 0 and first_item == 0:
        return news
    return replace(news, lines=news.lines[first_line:], items=news.items[first_item:])


def moved(cursor: Cursor, news: LiveNews) -> Cursor:
    """Where a viewer at `cursor` is once given `news`."""
    line = news.lines[-1][0] if news.lines else 0
    item = news.items[-1].id if news.items else 0
    return Cursor(max(cursor.line, line), max(cursor.item, item))


def worth_sending(news: LiveNews, shown: tuple[int, ...] | None) -> bool:
    """Whether `news` makes an event for a viewer last told that the items `shown` stand
    (None: told nothing yet), as `views.live_events` and the end make them."""
    return bool(news.lines or news.items or news.ended or news.item_ids != shown)


class LiveStopped(Exception):
    """A viewer's stream is over without the meeting's end: it fell too far behind, its
    connection has gone, a read failed, or the web is shutting down."""


class MeetingGone(LiveStopped):
    """The meeting is not a public one (any more): its stream answers as for no meeting."""


class Viewer:
    """One stream's place in its meeting's poller, and the news queued for it."""

    def __init__(
        self, cursor: Cursor, joined: int, alive: Callable[[], bool], cut: Callable[[], None]
    ) -> None:
        self.cursor = cursor  # how far the news queued for it goes
        self.shown: tuple[int, ...] | None = None  # the standing items, as last queued
        # The reads begun before it came: their news may be older than the page it holds,
        # and an older list of standing items would take off the page an item it shows.
        self.joined = joined
        self.alive = alive
        self.cut = cut
        self._queue: deque[LiveNews] = deque()
        self._ready = asyncio.Event()
        self._stopped: LiveStopped | None = None
        self._streaming = False  # it has taken its first news: its answer has begun

    @property
    def behind(self) -> int:
        """How many batches of news wait for it."""
        return len(self._queue)

    def give(self, news: LiveNews) -> None:
        self._queue.append(news)
        self.cursor = moved(self.cursor, news)
        self.shown = news.item_ids
        self._ready.set()

    def stop(self, why: LiveStopped) -> None:
        """End its stream once the news queued for it has been taken; at once, with nothing
        more sent, when the meeting is gone (`MeetingGone`): what is queued is dropped and a
        stream that has begun has its connection cut, so that what was written to it and not
        yet taken by its reader is dropped too."""
        if self._stopped is None:
            self._stopped = why
        if isinstance(why, MeetingGone):
            self._queue.clear()
            if self._streaming:
                self.cut()
        self._ready.set()

    async def first(self) -> LiveNews:
        """The first news for this viewer: the meeting as it is, from its cursor on."""
        news = None
        while news is None:  # (once: without a time limit, `next` waits for news)
            news = await self.next(None)
        self._streaming = True
        return news

    async def next(self, timeout: float | None) -> LiveNews | None:
        """The next news queued for this viewer, waiting up to `timeout` seconds for it (None:
        as long as it takes); None when nothing came in time. Raises `LiveStopped` once the
        news queued before the stop has been taken, `MeetingGone` at once (see `stop`)."""
        if not self._queue and self._stopped is None:
            self._ready.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout)
        if self._queue:
            return self._queue.popleft()
        if self._stopped is not None:
            raise self._stopped
        return None


class Poller:
    """The one reader of a running meeting for all its viewers."""

    def __init__(self, meeting_id: int, read: Read, tick: float, backlog: int) -> None:
        self.meeting_id = meeting_id
        self.viewers: set[Viewer] = set()
        self.reads = 0  # begun
        self._read = read
        self._tick = tick
        self._backlog = backlog
        self._wake = asyncio.Event()
        self._log = log.bind(meeting=meeting_id)

    def join(self, cursor: Cursor, alive: Callable[[], bool], cut: Callable[[], None]) -> Viewer:
        viewer = Viewer(cursor, self.reads, alive, cut)
        self.viewers.add(viewer)
        self._wake.set()  # its first news now (or its 404), as a stream of its own would
        return viewer

    def leave(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        if not self.viewers:
            self._wake.set()  # stop now, not after another read for nobody

    async def run(self) -> None:
        """Read and hand out until no viewer is left; on the way out, every viewer still
        there is stopped (so none waits for news that will not come)."""
        self._log.debug("live_poller_started")
        try:
            while self._still_watched():
                self._wake.clear()  # whoever came before this read is served by it
                since = earliest(v.cursor for v in self.viewers)
                self.reads += 1
                news = await self._read(self.meeting_id, since.line, since.item)
                if news is None:
                    self._stop_all(MeetingGone)
                    return
                self._hand_out(self.reads, news)
                if self.viewers:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._tick)
        except Exception as exc:  # each stream ends; its browser reconnects to a new poller
            self._log.warning("live_poller_failed", error=str(exc))
        finally:
            self._stop_all(LiveStopped)
            self._log.debug("live_poller_stopped", reads=self.reads)

    def _still_watched(self) -> bool:
        """Let go of the viewers whose connection has gone (their streams would otherwise
        find out only at the next write, up to a keepalive later); whether any is left."""
        for viewer in [v for v in self.viewers if not v.alive()]:
            self.viewers.discard(viewer)
            viewer.stop(LiveStopped("the connection has gone"))
        return bool(self.viewers)

    def _hand_out(self, read: int, news: LiveNews) -> None:
        for viewer in list(self.viewers):
            if viewer.joined >= read:  # this read began before it came: the next is its own
                continue
            part = news_after(news, viewer.cursor)
            if not worth_sending(part, viewer.shown):
                continue
            if viewer.behind >= self._backlog:
                self._drop(viewer)
                continue
            viewer.give(part)
            if part.ended:  # given the end: there is nothing more for it
                self.viewers.discard(viewer)

    def _drop(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        viewer.stop(LiveStopped("too far behind"))
        self._log.info("live_viewer_dropped", behind=viewer.behind, line=viewer.cursor.line)
        viewer.cut()

    def _stop_all(self, why: type[LiveStopped]) -> None:
        for viewer in self.viewers:
            viewer.stop(why())
        self.viewers.clear()


class LiveHub:
    """The pollers of the meetings being watched live: one each, started by a meeting's
    first viewer, gone once it stops. `reads` counts the reads of them all."""

    def __init__(self, read: Read, tick: float = TICK_SECONDS, backlog: int = BACKLOG) -> None:
        self.reads = 0
        self._read = read
        self._tick = tick
        self._backlog = backlog
        self._pollers: dict[int, Poller] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def polling(self) -> frozenset[int]:
        """The meetings that have a poller now."""
        return frozenset(self._pollers)

    @contextmanager
    def watch(
        self,
        meeting_id: int,
        cursor: Cursor,
        alive: Callable[[], bool],
        cut: Callable[[], None],
    ) -> Iterator[Viewer]:
        """A viewer of the meeting from `cursor` on, for the time of the `with` block.
        `alive` says whether its connection is still there; `cut` closes it at once."""
        poller = self._pollers.get(meeting_id)
        if poller is None:
            poller = self._pollers[meeting_id] = Poller(
                meeting_id, self._counted, self._tick, self._backlog
            )
            task = asyncio.create_task(self._run(poller))
            self._tasks.add(task)  # held until done: the loop keeps only a weak reference
            task.add_done_callback(self._tasks.discard)
        viewer = poller.join(cursor, alive, cut)
        try:
            yield viewer
        finally:
            poller.leave(viewer)

    async def close(self) -> None:
        """Stop every poller; their viewers' streams end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, poller: Poller) -> None:
        try:
            await poller.run()
        finally:
            # In the same step as the poller's last look at its viewers: a viewer that comes
            # after it finds no poller and starts one, never one that has stopped.
            if self._pollers.get(poller.meeting_id) is poller:
                del self._pollers[poller.meeting_id]

    async def _counted(self, meeting_id: int, after_line: int, after_item: int) -> LiveNews | None:
        self.reads += 1
        return await self._read(meeting_id, after_line, after_item)
