"""Keeps a `NetworkClient` connected: reconnects with backoff, and watches for silence.

- `Backoff` (pure): exponential backoff with full jitter — the n-th retry waits a random
  time in [0, min(cap, first * 2**n)] — so the first retry comes within `first` seconds
  and none waits more than `cap`; a connection that stayed up `stable_after` seconds
  resets it.
- `Watchdog` (pure): after `ping_after` seconds without hearing anything it asks for a
  PING; after `dead_after` seconds without hearing anything it declares the connection
  dead (a server that went silent, or a half-open TCP connection).
- `Supervisor`: the task that loops connect → watch → back off (a connection that is
  not registered within `register_timeout`, e.g. stuck in SASL, counts as dead), and
  `stop()`, which
  sends QUIT, flushes and closes within a bounded time.

It must not translate or answer anything itself; the client does.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from typing import Literal

import structlog

from bot.irc.client import NetworkClient

Verdict = Literal["ok", "ping", "dead"]


class Backoff:
    """Delays before reconnecting: full jitter over an exponentially growing ceiling."""

    def __init__(
        self, first: float = 10.0, cap: float = 300.0, rng: random.Random | None = None
    ) -> None:
        self.first = first
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def ceiling(self) -> float:
        return float(min(self.cap, self.first * 2 ** min(self.attempt, 32)))

    def next_delay(self) -> float:
        delay = self._rng.uniform(0, self.ceiling())
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


class Watchdog:
    """Decides, from the time anything was last heard, whether to PING or give up."""

    def __init__(self, ping_after: float = 60.0, dead_after: float = 120.0) -> None:
        if not 0 < ping_after < dead_after:
            raise ValueError("0 < ping_after < dead_after is required")
        self.ping_after = ping_after
        self.dead_after = dead_after
        self._pinged_for: float | None = None

    def check(self, now: float, last_heard: float) -> Verdict:
        silence = now - last_heard
        if silence >= self.dead_after:
            return "dead"
        if silence >= self.ping_after and self._pinged_for != last_heard:
            self._pinged_for = last_heard  # one PING per silence
            return "ping"
        return "ok"

    def interval(self) -> float:
        """How often to check."""
        return max(0.05, min(self.ping_after / 4, (self.dead_after - self.ping_after) / 4, 5.0))


class Supervisor:
    """Runs one `NetworkClient` until `stop()`."""

    def __init__(
        self,
        client: NetworkClient,
        *,
        backoff: Backoff | None = None,
        ping_after: float = 60.0,
        dead_after: float = 120.0,
        stable_after: float = 60.0,
        register_timeout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.backoff = backoff or Backoff()
        self.ping_after = ping_after
        self.dead_after = dead_after
        self.stable_after = stable_after
        self.register_timeout = register_timeout
        self._clock = clock
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.log = structlog.get_logger(__name__).bind(network=client.config.name)
        self.connections = 0  # successful connects so far

    def start(self) -> asyncio.Task[None]:
        """Start the supervising task (once)."""
        if self._task is None:
            self._task = asyncio.create_task(
                self.run(), name=f"irc-supervisor-{self.client.config.name}"
            )
        return self._task

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._one_connection()
            except Exception:
                self.log.exception("irc.supervisor_error")
            if self._stopping.is_set():
                break
            delay = self.backoff.next_delay()
            self.log.info("irc.reconnect_scheduled", delay_seconds=round(delay, 2))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _one_connection(self) -> None:
        try:
            await self.client.connect()
        except (OSError, TimeoutError) as exc:
            self.log.warning("irc.connect_failed", error=str(exc) or type(exc).__name__)
            return
        self.connections += 1
        started = self._clock()
        await self._watch()
        if self._clock() - started >= self.stable_after:
            self.backoff.reset()

    async def _watch(self) -> None:
        watchdog = Watchdog(self.ping_after, self.dead_after)
        while self.client.connected:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.client.wait_closed(), watchdog.interval())
            if not self.client.connected:
                return
            if self._registration_overdue():
                self.log.warning("irc.registration_timeout", seconds=self.register_timeout)
                await self._abort("registration timed out")
                return
            verdict = watchdog.check(self._clock(), self.client.last_heard)
            if verdict == "ping":
                self.client.ping()
            elif verdict == "dead":
                silent = round(self._clock() - self.client.last_heard, 1)
                self.log.warning("irc.watchdog_timeout", silent_seconds=silent)
                await self._abort("no answer from server")
                return

    async def _abort(self, reason: str) -> None:
        self.client.abort(reason)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.client.wait_closed(), 5.0)

    def _registration_overdue(self) -> bool:
        waited = self._clock() - self.client.connected_at
        return not self.client.registered and waited >= self.register_timeout

    async def stop(self, quit_message: str = "", timeout: float = 4.0) -> None:
        """Stop reconnecting, QUIT (flushing queued lines first) and close; returns
        within about `timeout` seconds."""
        self._stopping.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self.client.connected:
            await self.client.quit(quit_message, timeout=timeout * 0.75)
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, max(deadline - loop.time(), 0.1))
