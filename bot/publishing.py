"""Publishing a meeting's files: the one place that decides where they go, writes them, tries
again and reports them written.

The database owns a meeting's file names. The first time a meeting is published its base is
chosen in one reservation: the pattern's, or with `-2`, `-3`, ... when another meeting holds
that name in the database or another meeting's files (or files of unknown origin) lie there
on disk. It is recorded before any file is written, and every later `#save` or
`#endmeeting`, `gavel regenerate`, `gavel meetings` and the end-of-meeting reply read it from
there. Only a name the pattern gives differently (a `#meetingname` after a `#save`, a
changed pattern) is chosen anew.

Files are derived data (the database is the record), so they are not made durable one by
one. Each file is written to a temporary name and renamed into place (no reader ever sees a
partial file); then the publishes written meanwhile are made durable together, with one
`syncfs` of their file system (`sync_published`), and only after that does the store note
each of them published. A meeting whose publish is not noted is written again at the next
start, so a crash of the machine before the sync costs a rewrite, never a file.

The moving parts live here too: writes run in their own threads, one at a time per meeting
(a `#save`'s older snapshot never lands after the `#endmeeting`'s); a publish that failed
for a reason that may pass (a full disk, the database) is tried again, its newest snapshot
only; an unsafe path is never tried again. Once files are written, a `FilesPublished` event
goes back to the engine's queue, and the core turns it into the end-of-meeting lines like
any other reply. The writers render and write; this module talks to the store and never
renders or speaks itself.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Protocol

import structlog

from bot.core.effects import Announce, Publish
from bot.core.events import FilesPublished
from bot.core.record import MeetingRecord
from bot.settings import OutputSettings, Settings
from bot.store import Store
from bot.writers.paths import (
    EXTENSIONS,
    MINUTES_TEXT,
    UnsafePathError,
    output_root,
    relative_base,
)
from bot.writers.publish import (
    PublishedFiles,
    sync_published,
    taken_by_another,
    write_meeting_files,
)

log = structlog.get_logger("gavel.publishing")

# Rendering holds the interpreter lock, so more threads do not render faster; two let
# one meeting's fsyncs overlap another's rendering. With six (asyncio's default pool on
# two cores) ten meetings ending together took ~10-20% longer, each thread waiting for the
# lock after every fsync, and the default pool, which also resolves host names for
# reconnects, was taken up by publishing.
PUBLISH_THREADS = 2
RETRY_SECONDS = 5.0  # how often a publish that failed for a passing reason is tried again


class GroupSync:
    """Makes written publishes durable in batches: a publish waits for the next sync that
    starts after its files were written; while one sync runs, the publishes written
    meanwhile gather for the one after it. A failed sync fails every publish of its batch
    (they are tried again, whole)."""

    def __init__(self, threads: ThreadPoolExecutor) -> None:
        self._threads = threads
        self._waiting: list[tuple[PublishedFiles, asyncio.Future[None]]] = []
        self._rounds: asyncio.Task[None] | None = None
        self.syncs = 0  # batches synced (for tests and logs)

    async def sync(self, files: PublishedFiles) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((files, done))
        if self._rounds is None or self._rounds.done():
            self._rounds = asyncio.create_task(self._run(), name="publish-sync")
        await done

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch, self._waiting = self._waiting, []
            work = functools.partial(sync_published, [files for files, _ in batch])
            try:
                await loop.run_in_executor(self._threads, work)
            except asyncio.CancelledError:
                for _, done in (*batch, *self._waiting):
                    done.cancel()
                raise
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            self.syncs += 1
            for _, done in batch:
                if not done.done():
                    done.set_result(None)


class Announcements(Protocol):
    """The announcements of a meeting's completion (bot/followup.py)."""

    def completion(
        self, record: MeetingRecord, url_base: str, minutes_text: str
    ) -> Sequence[Announce]: ...

    def wake(self) -> None: ...


class Publishing:
    """Writes meetings' files off the event loop and records them in the store.

    `report` receives a `FilesPublished` for each publish of a `Publish` effect once its
    files are written (the service puts it on the engine's queue); `next_id` numbers those
    events like any other. `followup` gives the announcements of an ended meeting, queued
    in the outbox with the record of its final files. With `indexes`, each publish also
    rewrites the static `index.html` pages (bot/web/static_index.py) once it is recorded."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        report: Callable[[FilesPublished], None] | None = None,
        next_id: Callable[[], int] | None = None,
        followup: Announcements | None = None,
        *,
        indexes: bool = True,
    ) -> None:
        self.settings = settings
        self.store = store
        self.followup = followup
        self.indexes = indexes
        # Series whose static indexes are owed, and the one task that writes them. Meetings
        # that end together (on the hour, on a busy network) get their indexes written once,
        # after their own files, not once each in between them.
        self._stale_indexes: set[tuple[str, str]] = set()
        self._indexing: asyncio.Task[None] | None = None
        self.index_writes = 0  # how many times the indexes were written (for the record)
        self._report = report
        self._next_id = next_id or itertools.count(1).__next__
        self._threads = ThreadPoolExecutor(PUBLISH_THREADS, thread_name_prefix="publish")
        self.synced = GroupSync(self._threads)
        self.tasks: set[asyncio.Task[None]] = set()
        # One lock per meeting keeps its publishes in order: a #save's older snapshot
        # must never land after the #endmeeting's.
        self.locks: dict[int, asyncio.Lock] = {}
        # The latest publish of each meeting that failed for a reason that may pass (a full
        # disk, the database): tried again every RETRY_SECONDS while the journal works.
        self.unpublished: dict[int, Publish] = {}
        self._retry_at = 0.0

    def close(self) -> None:
        """Take no more writes; one under way finishes in its thread (its files appear
        whole or not at all) and the process waits for it at exit."""
        self._threads.shutdown(wait=False)

    def where(self, record: MeetingRecord) -> tuple[OutputSettings, bool]:
        return self.settings.output_for(record.network, record.channel)

    async def write(self, record: MeetingRecord, *, complete: bool = False) -> PublishedFiles:
        """Reserve the meeting's base (or read the one it holds), write its files under it,
        make them durable with the batch written meanwhile, and note them published; when
        `complete` (an ended meeting's final files), queue its announcements in the same
        transaction that notes them published. Raises
        `UnsafePathError` for a path that leaves the output directory, `OSError` or a store
        error for a failure that may pass."""
        output, private = self.where(record)
        candidate = relative_base(record, output.pattern)
        root = output_root(output.dir, output.private_dir, private)
        # The disk is looked at inside the reservation's transaction, so no other publish
        # can take the name between the look and the record.
        base = await self.store.reserve_file_base(
            record.id, candidate, taken_elsewhere=lambda b: taken_by_another(root, b, record)
        )
        work = functools.partial(
            write_meeting_files, record, output, base, private=private, durable=False
        )
        files = await asyncio.get_running_loop().run_in_executor(self._threads, work)
        await self.synced.sync(files)  # the store notes only what a crash cannot take back
        upto = record.lines[-1].n if record.lines else 0
        announce: Sequence[Announce] = ()
        if complete and self.followup is not None and record.end is not None:
            minutes = files.paths[EXTENSIONS.index(MINUTES_TEXT)]
            # Read in the publishing threads, as it was written: a long meeting's minutes
            # must not hold up the event loop.
            text = await asyncio.get_running_loop().run_in_executor(
                self._threads, functools.partial(minutes.read_text, encoding="utf-8")
            )
            announce = self.followup.completion(record, files.url_base, text)
        # Searchable from now on, in the transaction that notes the files (never while it
        # records: this runs in the publishing task, not on the engine's path). The meeting
        # keeps the `private` its start recorded; a channel the configuration has since made
        # private takes it out of search too.
        await self.store.mark_published(
            record.id,
            datetime.now(UTC),
            upto,
            announce,
            index=True,
            private=True if private else None,
        )
        if announce and self.followup is not None:
            self.followup.wake()
        if self.indexes:
            self._owe_indexes(record.network, record.name)
        return files

    def _owe_indexes(self, network: str, name: str) -> None:
        """Have the static indexes of the series written soon (`finish` waits for them)."""
        self._stale_indexes.add((network, name))
        if self._indexing is None:
            task = asyncio.create_task(self._write_indexes())
            self._indexing = task
            self.tasks.add(task)
            task.add_done_callback(self._indexes_written)

    def _indexes_written(self, task: asyncio.Task[None]) -> None:
        # Besides the task's own `finally`: a task cancelled before its first step runs none
        # of its code, and must not leave the indexes owed for good.
        self.tasks.discard(task)
        if self._indexing is task:
            self._indexing = None

    async def _write_indexes(self) -> None:
        """Write the owed static indexes, rendered and written in the publishing threads,
        until none is owed; a failure is logged there and never fails a publish."""
        try:
            # Imported on first use, in a thread: the templates' library is needed only once
            # files are written, and importing it on the loop would hold up every channel.
            await asyncio.to_thread(importlib.import_module, "bot.web.static_index")
            from bot.web.static_index import write_indexes  # imported now: no work left

            while self._stale_indexes:
                # The files of the meetings being published come first; their series are
                # then written with this batch's.
                others = [t for t in self.tasks if t is not self._indexing]
                if others:
                    await asyncio.wait(others)
                owed, self._stale_indexes = self._stale_indexes, set()
                self.index_writes += 1
                # Derived from the database at every publish, like the meetings' files: not
                # synced one by one (a page a crash takes back, the next publish writes again).
                await write_indexes(self.settings, owed, self._threads, durable=False)
        finally:
            # At once, in the same step as the loop's last look: a series owed after it
            # must start a new task.
            self._indexing = None

    def submit(self, effect: Publish) -> None:
        """Publish in the background, after any publish of the same meeting under way."""
        task = asyncio.create_task(self._publish(effect))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def retry(self) -> None:
        """Publish again what failed, at most every RETRY_SECONDS. The engine calls it only
        while its journal takes writes (the store records publishing too)."""
        if not self.unpublished:
            return
        now = asyncio.get_running_loop().time()
        if now < self._retry_at:
            return
        self._retry_at = now + RETRY_SECONDS
        again, self.unpublished = list(self.unpublished.values()), {}
        for effect in again:
            self.submit(effect)

    async def finish(self) -> None:
        """Wait for the writes under way (the caller bounds the wait)."""
        while self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def finish_interrupted(self) -> None:
        """Write the files a crash (or a failure) left owed, as recorded in the store."""
        for meeting_id in await self.store.pending_publishes():
            record = await self.store.load(meeting_id)
            if record is None:
                continue
            lock = self.locks.setdefault(meeting_id, asyncio.Lock())
            try:
                async with lock:  # in order with any publish the meeting asks for meanwhile
                    await self.write(record, complete=record.end is not None)
                log.info("publish_finished_after_restart", meeting=meeting_id)
            except Exception:
                log.exception("publish_failed", meeting=meeting_id)

    async def _publish(self, effect: Publish) -> None:
        meeting = effect.meeting
        bound = log.bind(network=meeting.network, channel=meeting.channel, meeting=meeting.id)
        lock = self.locks.setdefault(meeting.id, asyncio.Lock())
        try:
            async with lock:
                files = await self.write(meeting, complete=effect.final)
        except UnsafePathError:  # the meeting's own path is unsafe: retrying cannot help
            bound.exception("publish_failed", retry=False)
            return
        except Exception:
            bound.exception("publish_failed", retry=True)
            held = self.unpublished.get(meeting.id)
            if held is None or _covers(effect, held):
                self.unpublished[meeting.id] = effect
            return
        finally:
            if effect.final and not lock.locked():
                self.locks.pop(meeting.id, None)
        held = self.unpublished.get(meeting.id)
        if held is not None and _covers(effect, held):
            del self.unpublished[meeting.id]
        bound.info("published", url=files.url_base, final=effect.final, lines=len(meeting.lines))
        if self._report is not None:
            self._report(
                FilesPublished(
                    network=meeting.network,
                    time=datetime.now(UTC),
                    id=self._next_id(),
                    meeting=meeting,
                    url_base=files.url_base,
                    final=effect.final,
                    announce=effect.announce,
                )
            )


def _covers(publish: Publish, other: Publish) -> bool:
    """Whether `publish` shows at least as much of the meeting as `other` (a retried older
    snapshot must never stand in for a newer one)."""
    newer = (len(publish.meeting.lines), publish.final)
    return newer >= (len(other.meeting.lines), other.final)
