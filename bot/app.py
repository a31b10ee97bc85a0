"""Composition of the live service: store, core state, engine, IRC clients, file publishing.

Also the database-backed commands (`meetings`, `regenerate`). Start-up resumes running
meetings (the time the bot was away becomes a gap once it is back in the channel) and
finishes any file writing a crash interrupted. SIGTERM or SIGINT: QUIT, flush, close the
database, exit within 5 seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import structlog

from bot.core.events import Disconnected, Event
from bot.core.state import World
from bot.core.step import step
from bot.engine import Engine, Sender
from bot.followup import Followup
from bot.irc.client import NetworkClient
from bot.irc.supervisor import Backoff, Supervisor
from bot.logs import configure
from bot.publishing import Publishing
from bot.settings import Settings
from bot.store import MeetingSummary, Store, StoreError
from bot.store.writerlock import DatabaseInUse, acquire_writer_lock
from bot.writers.paths import output_root

log = structlog.get_logger("gavel.app")

SHUTDOWN_SECONDS = 4.5  # SIGTERM to exit, with margin under the promised 5 s
QUIT_MESSAGE = "Gavel is shutting down; meetings in progress resume when it returns."


def supervisor_for(client: NetworkClient) -> Supervisor:
    """A supervisor with the network's configured reconnect and watchdog delays."""
    timing = client.config.timing
    return Supervisor(
        client,
        backoff=Backoff(timing.reconnect_first_delay, timing.reconnect_max_delay),
        ping_after=timing.ping_after,
        dead_after=timing.dead_after,
    )


async def resume(store: Store, world: World, next_id: itertools.count[int]) -> list[int]:
    """Put running meetings back and open a gap in each, from its last recorded moment."""
    running = await store.load_running()
    world.restore(running)
    last_seen: dict[str, datetime] = {}
    for record in running:
        seen = await store.last_activity(record.id)
        last_seen[record.network] = max(seen, last_seen.get(record.network, seen))
        log.info(
            "meeting_resumed",
            network=record.network,
            channel=record.channel,
            meeting=record.id,
            lines=len(record.lines),
        )
    for network, seen in last_seen.items():
        step(world, Disconnected(network, seen, next(next_id), "restart"))
    return [r.id for r in running]


async def serve(settings: Settings) -> int:
    """Run the bot until SIGTERM/SIGINT; refuse at once (status 2) when another bot records
    into the same database."""
    try:
        writer = acquire_writer_lock(settings.storage.path)
    except DatabaseInUse as exc:
        print(f"gavel: {exc}", file=sys.stderr)
        return 2
    try:
        configure(settings.logging.level, settings.logging.format)
        store = await Store.open(settings.storage.path)
        try:
            return await _serve(settings, store)
        finally:
            await store.close()
    finally:
        writer.release()


async def _serve(settings: Settings, store: Store) -> int:
    world = World()
    ids = itertools.count(await store.max_id() + 1)
    await resume(store, world, ids)
    queue: asyncio.Queue[Event] = asyncio.Queue()
    clients = {
        net.name: NetworkClient(net, settings.identity, queue, ids=lambda: next(ids))
        for net in settings.networks
    }
    supervisors = [supervisor_for(client) for client in clients.values()]
    announcer = None
    if settings.announce.enabled:
        # Imported only when announcing: its HTTP and mail clients take some 15 MB of
        # memory, which a bot that announces nothing need not carry.
        from bot.announce.sender import Sender as AnnouncementSender

        announcer = AnnouncementSender(settings.announce, store)
    followup = Followup(settings, store, queue, announcer)
    publishing = Publishing(
        settings, store, report=queue.put_nowait, next_id=lambda: next(ids), followup=followup
    )
    senders: dict[str, Sender] = dict(clients)
    engine = Engine(world, queue, store, senders, publishing, followup)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    engine_task = asyncio.create_task(engine.run(), name="engine")
    announcing = None if announcer is None else asyncio.create_task(announcer.run())
    for supervisor in supervisors:
        supervisor.start()
    log.info("started", networks=[n.name for n in settings.networks], db=str(store.path))
    await publishing.finish_interrupted()
    await followup.write_all_pages()  # also makes good a page a crash left behind
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({stopped, engine_task}, return_when=asyncio.FIRST_COMPLETED)
    failed = engine_task.done()
    if failed and not engine_task.cancelled() and engine_task.exception() is not None:
        log.error("engine_failed", exc_info=engine_task.exception())
    await _shut_down(supervisors, engine, engine_task)
    if announcing is not None:
        announcing.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await announcing
    publishing.close()
    return 1 if failed else 0


async def _shut_down(
    supervisors: list[Supervisor], engine: Engine, engine_task: asyncio.Task[None]
) -> None:
    """QUIT every network, record what is still queued, and stop — all within the budget."""
    deadline = asyncio.get_running_loop().time() + SHUTDOWN_SECONDS
    log.info("stopping")
    await asyncio.gather(
        *(s.stop(QUIT_MESSAGE, timeout=2.0) for s in supervisors), return_exceptions=True
    )
    engine_task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await engine_task
    remaining = max(0.1, deadline - asyncio.get_running_loop().time())
    try:
        await asyncio.wait_for(engine.drain(), remaining)
    except TimeoutError:
        log.warning("stopped_before_files_were_written")
    stats = engine.stats
    log.info(
        "stopped",
        events=stats.events,
        batches=stats.batches,
        failures=stats.failures,
        quarantined=stats.quarantined,
    )


async def list_meetings(settings: Settings, limit: int) -> int:
    """The recent meetings, each with where its files are: the base its store reserved,
    under the directory the channel's configuration names (the private one if private)."""
    async with await Store.open(settings.storage.path) as store:
        meetings = await store.list_meetings(limit)
    if not meetings:
        print("no meetings recorded yet")
        return 0
    print(f"{'id':>8}  {'state':8}  {'start (UTC)':16}  {'lines':>6}  network/channel  name  files")
    for m in meetings:
        state = "running" if m.end is None else "ended"
        start = m.start.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        files = "-" if m.file_base is None else str(files_path(settings, m))
        print(
            f"{m.id:>8}  {state:8}  {start:16}  {m.lines:>6}  {m.network}/{m.channel}  "
            f"{m.name}  {files}"
        )
    return 0


def files_path(settings: Settings, meeting: MeetingSummary) -> Path:
    """Where the meeting's files are, without extension (it must hold a base)."""
    assert meeting.file_base is not None
    output, private = settings.output_for(meeting.network, meeting.channel)
    return output_root(output.dir, output.private_dir, private) / meeting.file_base


async def regenerate(settings: Settings, meeting_id: int | None, *, every: bool) -> int:
    """Rewrite files from the database: one meeting, or all with a progress bar on a tty."""
    async with await Store.open(settings.storage.path) as store:
        ids = await store.all_meeting_ids() if every else [meeting_id or 0]
        publishing = Publishing(settings, store, indexes=not every)
        failures = 0
        try:
            for done, mid in enumerate(ids, start=1):
                # A meeting that cannot be read or written back is named and counted; with
                # --all the others are still written.
                try:
                    record = await store.load(mid)
                    if record is None:
                        print(f"gavel: no meeting with id {mid}", file=sys.stderr)
                        return 2
                    files = await publishing.write(record)
                except (OSError, ValueError, StoreError) as exc:
                    failures += 1
                    print(f"gavel: meeting {mid}: {exc}", file=sys.stderr)
                    continue
                if every and sys.stderr.isatty():
                    _progress(done, len(ids))
                elif not every:
                    for path in files.paths:
                        print(path)
        finally:
            await publishing.finish()  # the static indexes follow the meeting's files
            publishing.close()
        if every:
            from bot.web.static_index import write_all_indexes

            await write_all_indexes(settings)  # once, not once per meeting
            if sys.stderr.isatty():
                print(file=sys.stderr)
            print(f"regenerated {len(ids) - failures} of {len(ids)} meetings")
    return 1 if failures else 0


def _progress(done: int, total: int, width: int = 40) -> None:
    filled = width * done // max(total, 1)
    bar = "#" * filled + "-" * (width - filled)
    print(f"\r[{bar}] {done}/{total}", end="", file=sys.stderr, flush=True)
