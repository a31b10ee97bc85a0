"""What happens between meetings, at the edge: announcements queued with the events that
cause them, the success pages written after each `#success`/`#thanks`, and `#previous`
looked up in the store and fed back to the core.

The engine calls `outbox_for` before it persists a batch (so the outbox rows go in the same
transaction) and `after` once the batch is persisted. Nothing here delays a reply: page
writing, lookups and deliveries run in their own tasks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from bot.announce import compose
from bot.core.casemap import irc_lower
from bot.core.effects import Announce, Effect, LookUpPrevious, MeetingStarted, SuccessRecorded
from bot.core.events import Event, PreviousFound
from bot.core.record import SUCCESS, THANKS, MeetingRecord, PreviousMeeting
from bot.core.timefmt import zone
from bot.settings import Settings
from bot.store import Store
from bot.store.followup import StoredSuccess
from bot.writers import successes as pages
from bot.writers.paths import LOG_HTML, MINUTES_HTML, url_for
from bot.writers.publish import fsync_dir, remove_stale_temporaries, write_atomic

if TYPE_CHECKING:  # imported when announcing only (see bot/app.py)
    from bot.announce.sender import Sender

log = structlog.get_logger("gavel.followup")

PAGE_ENTRIES = 1000  # the newest kept successes a page and its feed show


def private_channels(settings: Settings, network: str) -> frozenset[str]:
    """The network's private channels, folded as `Settings.channel` compares them (RFC 1459:
    it folds all that the other mappings fold, so no spelling of one is missed)."""
    return frozenset(
        irc_lower(c.name)
        for n in settings.networks
        if n.name == network
        for c in n.channels
        if c.private
    )


def where(
    settings: Settings,
    network: str,
    channel: str,
    restricted: bool = False,
    meeting_name: str | None = None,
) -> compose.Where:
    """The channel's receivers, and with `meeting_name` those of the meeting's series (which
    compose tells only when the meeting is public)."""
    configured = settings.channel(network, channel)
    public = not (configured.private or restricted)
    series_to: tuple[str, ...] = ()
    if meeting_name is not None:
        email, aliases = settings.announce.email, settings.archive.aliases
        series_to = compose.series_addresses(email, aliases, meeting_name)
    return compose.Where(network, channel, public, configured.announce_to, series_to)


def log_url(settings: Settings, success: StoredSuccess) -> str | None:
    if success.log_base is None:
        return None
    output, private = settings.output_for(success.network, success.channel)
    if private:
        return None
    return url_for(output.url_prefix, success.log_base + LOG_HTML)


def entries(settings: Settings, kept: Sequence[StoredSuccess]) -> list[pages.Entry]:
    """The kept successes a published page may show: none from private channels."""
    return [
        pages.Entry(
            s.id, s.kind, s.time, s.network, s.channel, s.nick, s.text, log_url(settings, s)
        )
        for s in kept
        if not settings.channel(s.network, s.channel).private
    ]


def write_pages(directory: Path, kind: str, shown: list[pages.Entry], page_url: str) -> None:
    """`successes.html` and `successes.atom` (or the thanks ones), each written atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(directory)  # left by a crash in the middle of a write
    now = datetime.now(UTC)
    write_atomic(directory / pages.PAGE[kind], [pages.render_page(kind, shown)], 0o644)
    feed = pages.render_feed(kind, shown, page_url, now)
    write_atomic(directory / pages.FEED[kind], [feed], 0o644)
    fsync_dir(directory)


class Followup:
    """The engine's companion for announcements, success pages and `#previous`."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        queue: asyncio.Queue[Event],
        sender: Sender | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.queue = queue
        self.sender = sender
        self.tasks: set[asyncio.Task[None]] = set()
        self._pages_due: set[str] = set()
        self._pages_task: asyncio.Task[None] | None = None

    # --- called by the engine -----------------------------------------------------

    def outbox_for(self, effects: Sequence[Effect]) -> list[Effect]:
        """The announcements the batch's events cause, to persist with them."""
        announce = self.settings.announce
        if not announce.enabled:
            return []
        now = datetime.now(UTC)
        queued: list[Effect] = []
        for effect in effects:
            if isinstance(effect, MeetingStarted):
                m = effect.meeting
                queued += compose.meeting_started(
                    announce, m, where(self.settings, m.network, m.channel), now
                )
            elif isinstance(effect, SuccessRecorded):
                s = effect.success
                queued += compose.success_recorded(
                    announce, s, where(self.settings, s.network, s.channel), now
                )
        return queued

    def after(self, effects: Sequence[Effect]) -> None:
        """Once the batch is persisted: pages to rewrite, lookups to make, deliveries due."""
        for effect in effects:
            if isinstance(effect, SuccessRecorded):
                self.pages_changed(effect.success.kind)
            elif isinstance(effect, LookUpPrevious):
                self._spawn(self._look_up(effect))
            elif isinstance(effect, Announce):
                self.wake()

    def wake(self) -> None:
        if self.sender is not None:
            self.sender.wake()

    # --- meeting completion (called by the publisher) --------------------------------

    def completion(self, record: MeetingRecord, url_base: str, minutes_text: str) -> list[Announce]:
        announce = self.settings.announce
        if not announce.enabled or record.end is None:
            return []
        # The record is the ended meeting's: its name is the last `#meetingname` given.
        place = where(self.settings, record.network, record.channel, record.restricted, record.name)
        now = datetime.now(UTC)
        return compose.meeting_completed(announce, record, place, url_base, minutes_text, now)

    # --- success pages --------------------------------------------------------------

    def pages_changed(self, kind: str) -> None:
        self._pages_due.add(kind)
        if self._pages_task is None or self._pages_task.done():
            self._pages_task = asyncio.create_task(self._write_due_pages())

    async def _write_due_pages(self) -> None:
        # Successes said while a page is being written are covered by the next pass.
        while self._pages_due:
            kinds, self._pages_due = sorted(self._pages_due), set()
            for kind in kinds:
                try:
                    await self.write_pages(kind)
                except Exception:
                    log.exception("success_page_failed", kind=kind)

    async def write_pages(self, kind: str, *, unless_none: bool = False) -> None:
        kept = await self.store.successes(kind, limit=PAGE_ENTRIES)
        if unless_none and not kept:
            return
        shown = entries(self.settings, kept)
        output = self.settings.output
        page_url = url_for(output.url_prefix, pages.PAGE[kind])
        await asyncio.to_thread(write_pages, output.dir, kind, shown, page_url)

    async def write_all_pages(self) -> None:
        """At start-up: a page a crash left behind the database is made good (a bot that
        never heard a #success writes none)."""
        for kind in (SUCCESS, THANKS):
            try:
                await self.write_pages(kind, unless_none=True)
            except Exception:
                log.exception("success_page_failed", kind=kind)

    # --- #previous -------------------------------------------------------------------

    def _spawn(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _look_up(self, ask: LookUpPrevious) -> None:
        aliases = self.settings.archive.aliases
        series = aliases.canonical(ask.meeting_name)
        found: PreviousMeeting | None = None
        try:
            row = await self.store.previous_meeting(
                ask.network,
                aliases.names_of(series),
                ask.before,
                ask.meeting_id,
                private_channels(self.settings, ask.network),
            )
        except Exception:
            log.exception("previous_lookup_failed", network=ask.network, channel=ask.channel)
            return
        if row is not None:
            output, _ = self.settings.output_for(ask.network, row.channel)
            date = row.start.astimezone(zone(row.timezone)).strftime("%Y-%m-%d")
            url = url_for(output.url_prefix, row.file_base + MINUTES_HTML)
            found = PreviousMeeting(url, date, row.actions)
        answer = PreviousFound(
            network=ask.network,
            time=ask.time,
            id=0,
            channel=ask.channel,
            meeting_id=ask.meeting_id,
            series=series,
            found=found,
            bot_nick=ask.bot_nick,
            echoes_own_lines=ask.echoes_own_lines,
        )
        await self.queue.put(answer)


# --- the command line's reports ------------------------------------------------------


async def successes_report(
    settings: Settings, since: datetime | None, until: datetime | None, fmt: str, kind: str
) -> str:
    """`gavel successes`: the kept successes of the period, oldest first."""
    async with await Store.open(settings.storage.path) as store:
        kept = await store.successes(kind, since, until, limit=100_000, newest_first=False)
    shown = entries(settings, kept)
    if fmt == "json":
        return pages.as_json(shown)
    if fmt == "markdown":
        return pages.markdown(shown)
    return pages.newsletter(shown)


async def announcements_report(settings: Settings, retry: str | None) -> tuple[int, str]:
    """`gavel announcements`: pending and failed deliveries, or `--retry ID` sent now."""
    async with await Store.open(settings.storage.path) as store:
        if retry is not None:
            if not await store.retry_delivery(retry, datetime.now(UTC)):
                return 2, f"gavel: no delivery {retry}\n"
            from bot.announce.sender import Sender  # its clients only when sending

            sender = Sender(settings.announce, store)
            [delivery] = [
                d
                for d in await store.deliveries(("pending",))
                if retry in (d.delivery_id, str(d.id))
            ]
            import aiohttp

            async with aiohttp.ClientSession() as session:
                try:
                    await sender.send(session, delivery)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    await store.delivery_failed(
                        delivery.id, error, delivery.next_attempt, give_up=False
                    )
                    return 1, f"{delivery.delivery_id}: failed again: {error}\n"
            await store.delivery_sent(delivery.id, datetime.now(UTC))
            return 0, f"{delivery.delivery_id}: sent\n"
        rows = await store.deliveries(("pending", "failed"))
    if not rows:
        return 0, "nothing pending or failed\n"
    out = [f"{'id':>6}  {'state':7}  {'tries':>5}  {'next try (UTC)':16}  event  receiver  error\n"]
    for d in rows:
        when = d.next_attempt.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        out.append(
            f"{d.id:>6}  {d.state:7}  {d.attempts:>5}  {when:16}  {d.event}  {d.receiver}  "
            f"{d.last_error or '-'}  ({d.delivery_id})\n"
        )
    return 0, "".join(out)
