"""The engine: the one task that changes meeting state.

It takes events from the queue in batches, runs each through `core.step` (one failure
is logged with its context and the engine goes on), persists the recording effects of
the whole batch in one transaction (*persist, then reply*), and only then sends
replies, sets topics and starts publishing files. One writer of state: no locks.

A batch the database cannot take now (a full disk) is kept and tried again; an effect it
refuses for good (a constraint violated) is found, set aside in the quarantine, and the rest
of the batch is written, so one bad record never stops the recording.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import structlog

from bot.core.effects import RECORDING_EFFECTS, Effect, Publish, Say, SetTopic
from bot.core.events import Event, event_channel
from bot.core.state import World
from bot.core.step import step
from bot.flow import BATCH_EVENTS
from bot.logs import bind_event_context, unbind_event_context
from bot.store.codec import effect_to_json
from bot.store.errors import refused_for_good

log = structlog.get_logger("gavel.engine")

# What the journal keeps: the recording effects, and `Publish`, with which the store notes
# that the meeting's files are owed, so a crash before they are written is made good by
# the next start.
PERSISTED_EFFECTS = (*RECORDING_EFFECTS, Publish)
# Events stepped and committed together (see bot/flow.py).
MAX_BATCH = BATCH_EVENTS
# Recording effects kept in memory while the database cannot take them (disk full...).
MAX_BACKLOG = 200_000
RETRY_SECONDS = 5.0  # how often the journal and failed publishes are tried again when idle


class Journal(Protocol):
    async def apply(self, effects: Sequence[Effect]) -> None: ...

    async def quarantine(self, effect: Effect, error: str, when: datetime) -> None: ...


class Companion(Protocol):
    """What happens between meetings (bot/followup.py): the announcements a batch causes,
    persisted with it, and the work that follows once it is persisted."""

    def outbox_for(self, effects: Sequence[Effect]) -> list[Effect]: ...

    def after(self, effects: Sequence[Effect]) -> None: ...


class Sender(Protocol):
    """One network's outgoing side: sends a reply or sets a topic, paced by its outbox."""

    def perform(self, effect: Say | SetTopic) -> None: ...


class Publisher(Protocol):
    """The publishing of files (bot/publishing.py): it writes in the background, tries
    again what failed, and reports written files back as events on the queue."""

    def submit(self, effect: Publish) -> None: ...

    def retry(self) -> None: ...

    async def finish(self) -> None: ...


@dataclass
class EngineStats:
    events: int = 0
    failures: int = 0
    batches: int = 0
    backlog_peak: int = 0
    dropped: int = 0
    quarantined: int = 0  # effects the database refused for good, set aside


class Engine:
    def __init__(
        self,
        world: World,
        queue: asyncio.Queue[Event],
        journal: Journal,
        senders: dict[str, Sender],
        publisher: Publisher,
        companion: Companion | None = None,
    ) -> None:
        self.world = world
        self.queue = queue
        self.journal = journal
        self.senders = senders
        self.publisher = publisher
        self.companion = companion
        self.backlog: deque[Effect] = deque()
        self.stats = EngineStats()
        self._stepping: Event | None = None  # the event being stepped, for log context

    async def run(self) -> None:
        """Process events until cancelled."""
        while True:
            try:
                # `timeout`, not `wait_for`: no extra task and loop turns between an
                # event's arrival and its step.
                async with asyncio.timeout(RETRY_SECONDS):
                    first = await self.queue.get()
            except TimeoutError:
                if self.backlog:
                    await self._persist([])
                self._retry_publishing()
                continue
            await self.process(self._drain(first))
            self._retry_publishing()

    def _retry_publishing(self) -> None:
        """Failed publishes are tried again only while the journal takes writes (the
        publisher records its work there too)."""
        if not self.backlog:
            self.publisher.retry()

    def _drain(self, first: Event) -> list[Event]:
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                batch.append(self.queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        return batch

    async def process(self, batch: list[Event]) -> None:
        """Step, persist, then act: the order every reply relies on."""
        effects: list[Effect] = []
        # Bound once for the batch, here where events enter the core: whatever is logged
        # while one is handled (a failure above all) says where it happened (bot/logs.py).
        token = bind_event_context(self._where_stepping)
        try:
            for event in batch:
                effects += self._step(event)
        finally:
            self._stepping = None
            unbind_event_context(token)
        self.stats.batches += 1
        persisted: list[Effect] = [e for e in effects if isinstance(e, PERSISTED_EFFECTS)]
        if self.companion is not None:
            queued = self.companion.outbox_for(effects)
            persisted += queued
            effects += queued
        await self._persist(persisted)
        for effect in effects:
            self._carry_out(effect)
        if self.companion is not None:
            self.companion.after(effects)

    async def drain(self) -> None:
        """Process whatever is queued now and wait (bounded by the caller) for files, and
        then for what their writing brought (the end-of-meeting lines)."""
        while True:
            while not self.queue.empty():
                await self.process(self._drain(self.queue.get_nowait()))
            if self.backlog:
                await self._persist([])
            await self.publisher.finish()
            if self.queue.empty():
                return

    def _step(self, event: Event) -> list[Effect]:
        self.stats.events += 1
        self._stepping = event
        try:
            return step(self.world, event)
        except Exception:
            self.stats.failures += 1
            log.exception("event_failed", event_type=type(event).__name__)
            return []

    def _where_stepping(self) -> dict[str, object]:
        event = self._stepping
        return {} if event is None else self._where(event)

    def _where(self, event: Event) -> dict[str, object]:
        """The log context of `event`: its network, channel, running meeting and id."""
        if not isinstance(event, Event):  # only a bug feeds anything else; step says so
            return {}
        channel = event_channel(event)
        where: dict[str, object] = {"network": event.network, "event_id": event.id}
        if channel is not None:
            where["channel"] = channel
            net = self.world.networks.get(event.network)
            chan = net.channels.get(net.fold(channel)) if net is not None else None
            if chan is not None and chan.meeting is not None:
                where["meeting"] = chan.meeting.id
        return where

    async def _persist(self, recording: list[Effect]) -> None:
        pending = [*self.backlog, *recording] if self.backlog else recording
        if not pending:
            return
        try:
            await self.journal.apply(pending)
        except Exception as exc:
            if not refused_for_good(exc):  # a full disk, an I/O error: keep, try again
                self._keep(recording, exc)
                return
            self.backlog.clear()  # `pending` holds it
            await self._set_apart_refused(pending, exc)
            return
        if self.backlog:
            log.warning("backlog_written", effects=len(self.backlog))
            self.backlog.clear()

    async def _set_apart_refused(self, effects: list[Effect], error: Exception) -> None:
        """Find the effects of a refused batch that the database refuses for good, by
        writing it in halves, then halves of the half that fails, and so on; quarantine
        those and write everything else in order. Kept back as usual if the database
        fails for a passing reason meanwhile. A bad effect costs about log2(batch) extra
        transactions; without this one bad effect would stop all recording."""
        log.warning("journal_refused_batch", effects=len(effects), error=str(error))
        parts = [effects]  # a stack: the part to write next is last
        while parts:
            part = parts.pop()
            if part is not effects:  # the whole batch is known to fail
                try:
                    await self.journal.apply(part)
                    continue
                except Exception as exc:
                    if not refused_for_good(exc):
                        self._keep([*part, *(e for rest in reversed(parts) for e in rest)], exc)
                        return
                    error = exc
            if len(part) == 1:
                await self._quarantine(part[0], error)
                continue
            middle = len(part) // 2
            parts += [part[middle:], part[:middle]]

    async def _quarantine(self, effect: Effect, error: Exception) -> None:
        self.stats.quarantined += 1
        reason = f"{type(error).__name__}: {error}"
        fields = {
            "effect": type(effect).__name__,
            "meeting": getattr(effect, "meeting_id", None),
            "error": reason,
            "quarantined": self.stats.quarantined,
        }
        try:
            await self.journal.quarantine(effect, reason, datetime.now(UTC))
        except Exception:
            # Not even the quarantine takes it: the log keeps all of it.
            log.exception("effect_refused_and_not_kept", content=effect_to_json(effect), **fields)
            return
        log.error("effect_quarantined", **fields)

    def _keep(self, recording: list[Effect], exc: Exception) -> None:
        self.backlog.extend(recording)
        overflow = len(self.backlog) - MAX_BACKLOG
        for _ in range(max(0, overflow)):
            self.backlog.popleft()
            self.stats.dropped += 1
        self.stats.backlog_peak = max(self.stats.backlog_peak, len(self.backlog))
        log.error(
            "journal_failed",
            error=str(exc),
            backlog=len(self.backlog),
            limit=MAX_BACKLOG,
            dropped=self.stats.dropped,  # the oldest effects lost once the backlog is full
        )

    def _carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Say | SetTopic):
            sender = self.senders.get(effect.network)
            if sender is not None:
                sender.perform(effect)
        elif isinstance(effect, Publish):
            self.publisher.submit(effect)
