"""Composition of the live service: store, core state, engine, IRC clients, file publishing.

Also the database-backed commands (`meetings`, `regenerate`). Start-up resumes running
meetings (the time the bot was away becomes a gap once it is back in the channel) and
finishes any file writing a crash interrupted. SIGTERM or SIGINT: QUIT, flush, close the
database, exit within 5 seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import structlog

from bot.core.casemap import same
from bot.core.effects import Publish
from bot.core.events import Disconnected, Event
from bot.core.record import MeetingRecord
from bot.core.state import World
from bot.core.step import step
from bot.engine import Engine, Sender
from bot.irc.client import NetworkClient
from bot.irc.supervisor import Backoff, Supervisor
from bot.logs import configure
from bot.settings import OutputSettings, Settings
from bot.store import Store
from bot.writers.publish import PublishedFiles, publish_meeting

log = structlog.get_logger("gavel.app")

SHUTDOWN_SECONDS = 4.5  # SIGTERM to exit, with margin under the promised 5 s
QUIT_MESSAGE = "Gavel is shutting down; meetings in progress resume when it returns."


def output_for(settings: Settings, network: str, channel: str) -> tuple[OutputSettings, bool]:
    """The channel's own output settings (else the global ones), and whether it is private."""
    for net in settings.networks:
        if net.name != network:
            continue
        for configured in net.channels:
            if same(configured.name, channel):
                return configured.output or settings.output, configured.private
    return settings.output, False


# Rendering holds the interpreter lock, so more threads do not render faster; two let
# one meeting's fsyncs overlap another's rendering. With six (asyncio's default pool on
# two cores) ten meetings ending together took ~10-20% longer, each thread waiting for the
# lock after every fsync, and the default pool, which also resolves host names for
# reconnects, was taken up by publishing.
PUBLISH_THREADS = 2


class Publisher:
    """Writes a meeting's files off the event loop, in its own threads, and notes it in the
    store."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._threads = ThreadPoolExecutor(PUBLISH_THREADS, thread_name_prefix="publish")

    def close(self) -> None:
        """Take no more writes; one under way finishes in its thread (its files appear
        whole or not at all) and the process waits for it at exit."""
        self._threads.shutdown(wait=False)

    async def write(self, record: MeetingRecord) -> PublishedFiles:
        output, private = output_for(self.settings, record.network, record.channel)
        work = functools.partial(publish_meeting, record, output, private=private)
        files = await asyncio.get_running_loop().run_in_executor(self._threads, work)
        upto = record.lines[-1].n if record.lines else 0
        await self.store.record_published(record.id, files.base, datetime.now(UTC), upto)
        await self.store.index_meeting(record.id, private=private)  # searchable from now on
        return files

    async def __call__(self, effect: Publish) -> str:
        return (await self.write(effect.meeting)).url_base


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


async def finish_interrupted_publishing(store: Store, publisher: Publisher) -> None:
    for meeting_id in await store.pending_publishes():
        record = await store.load(meeting_id)
        if record is None:
            continue
        try:
            await publisher.write(record)
            log.info("publish_finished_after_restart", meeting=meeting_id)
        except Exception:
            log.exception("publish_failed", meeting=meeting_id)


async def serve(settings: Settings) -> int:
    """Run the bot until SIGTERM/SIGINT."""
    configure(settings.logging.level, settings.logging.format)
    store = await Store.open(settings.storage.path)
    try:
        return await _serve(settings, store)
    finally:
        await store.close()


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
    publisher = Publisher(settings, store)
    senders: dict[str, Sender] = dict(clients)
    engine = Engine(world, queue, store, senders, publisher)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    engine_task = asyncio.create_task(engine.run(), name="engine")
    for supervisor in supervisors:
        supervisor.start()
    log.info("started", networks=[n.name for n in settings.networks], db=str(store.path))
    await finish_interrupted_publishing(store, publisher)
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({stopped, engine_task}, return_when=asyncio.FIRST_COMPLETED)
    failed = engine_task.done()
    if failed and not engine_task.cancelled() and engine_task.exception() is not None:
        log.error("engine_failed", exc_info=engine_task.exception())
    await _shut_down(supervisors, engine, engine_task)
    publisher.close()
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
    log.info("stopped", events=stats.events, batches=stats.batches, failures=stats.failures)


async def list_meetings(settings: Settings, limit: int) -> int:
    async with await Store.open(settings.storage.path) as store:
        meetings = await store.list_meetings(limit)
    if not meetings:
        print("no meetings recorded yet")
        return 0
    print(f"{'id':>8}  {'state':8}  {'start (UTC)':16}  {'lines':>6}  network/channel  name  files")
    for m in meetings:
        state = "running" if m.end is None else "ended"
        start = m.start.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        files = m.file_base or "-"
        print(
            f"{m.id:>8}  {state:8}  {start:16}  {m.lines:>6}  {m.network}/{m.channel}  "
            f"{m.name}  {files}"
        )
    return 0


async def regenerate(settings: Settings, meeting_id: int | None, *, every: bool) -> int:
    """Rewrite files from the database: one meeting, or all with a progress bar on a tty."""
    async with await Store.open(settings.storage.path) as store:
        ids = await store.all_meeting_ids() if every else [meeting_id or 0]
        publisher = Publisher(settings, store)
        failures = 0
        for done, mid in enumerate(ids, start=1):
            record = await store.load(mid)
            if record is None:
                print(f"gavel: no meeting with id {mid}", file=sys.stderr)
                return 2
            try:
                files = await publisher.write(record)
            except (OSError, ValueError) as exc:
                failures += 1
                print(f"gavel: meeting {mid}: {exc}", file=sys.stderr)
                continue
            if every and sys.stderr.isatty():
                _progress(done, len(ids))
            elif not every:
                for path in files.paths:
                    print(path)
        if every:
            if sys.stderr.isatty():
                print(file=sys.stderr)
            print(f"regenerated {len(ids) - failures} of {len(ids)} meetings")
    return 1 if failures else 0


def _progress(done: int, total: int, width: int = 40) -> None:
    filled = width * done // max(total, 1)
    bar = "#" * filled + "-" * (width - filled)
    print(f"\r[{bar}] {done}/{total}", end="", file=sys.stderr, flush=True)
