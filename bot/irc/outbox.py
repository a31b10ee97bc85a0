"""Outgoing line scheduling for one IRC connection: what may be sent, and when.

`Outbox` is pure: it takes `now` (monotonic seconds) and gives lines; it never sleeps,
never blocks and never touches a socket, so its pacing is tested as data in, data out.

- A token bucket (`burst` lines at once, then `rate` lines per second; `rate=0` means
  unthrottled) paces ordinary lines, so a flood of commands never gets the bot
  disconnected for flooding.
- Protocol-priority lines (PONG, CAP, AUTHENTICATE, NICK, USER, QUIT, PING) go first
  and are never held back by the bucket (a late PONG costs the connection); they still
  spend a token when there is one, so ordinary lines slow down after them.
- Ordinary lines queue per target (a channel or nick; protocol lines such as JOIN share
  one "control" queue) and are taken round-robin, so one busy channel never starves
  another's replies.
- The queue is bounded: when full, the oldest line of the busiest target is dropped and
  handed back to the caller to log. Putting never blocks.

`OutboxPump` is the thin async part: it waits until the outbox has a line due and
hands it to a write function.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.casemap import irc_lower

CONTROL = ""
"""The queue key for ordinary lines that have no target (JOIN, MODE, NAMES ...)."""

_EPSILON = 1e-6  # float refills must not leave a line waiting forever for 0.9999999 tokens

PRIORITY_COMMANDS = frozenset({"PONG", "PING", "CAP", "AUTHENTICATE", "NICK", "USER", "QUIT"})


def is_priority(line: str) -> bool:
    """Whether a protocol line must jump the queue (judged by its command)."""
    return line.split(" ", 1)[0].upper() in PRIORITY_COMMANDS


@dataclass(frozen=True, slots=True)
class Dropped:
    """A line thrown away because the queue was full."""

    target: str
    line: str


class Outbox:
    """Token bucket, bounded queue, priority lane and round-robin between targets."""

    def __init__(
        self,
        rate: float = 1.0,
        burst: int = 4,
        max_queued: int = 200,
        max_priority: int = 64,
        *,
        fold: Callable[[str], str] = irc_lower,
    ) -> None:
        if rate < 0 or burst < 1 or max_queued < 1 or max_priority < 1:
            raise ValueError("rate >= 0, burst >= 1 and queue sizes >= 1 are required")
        self.rate = rate
        self.burst = burst
        self.max_queued = max_queued
        self.max_priority = max_priority
        self._fold = fold  # the server's case mapping: `#Chan` and `#chan` share a queue
        self._tokens = float(burst)
        self._last: float | None = None
        self._priority: deque[str] = deque()
        self._queues: dict[str, deque[str]] = {}
        self._turns: deque[str] = deque()  # targets with lines, in round-robin order
        self._queued = 0

    def __len__(self) -> int:
        return len(self._priority) + self._queued

    def put(self, line: str, *, target: str = CONTROL, priority: bool = False) -> list[Dropped]:
        """Queue a line; returns what had to be dropped to make room (usually nothing)."""
        if priority:
            return self._put_priority(line)
        dropped = []
        if self._queued >= self.max_queued:
            dropped.append(self._drop_oldest_of_busiest())
        key = self._fold(target)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            self._turns.append(key)
        queue.append(line)
        self._queued += 1
        return dropped

    def _put_priority(self, line: str) -> list[Dropped]:
        dropped = []
        if len(self._priority) >= self.max_priority:
            dropped.append(Dropped(CONTROL, self._priority.popleft()))
        self._priority.append(line)
        return dropped

    def _drop_oldest_of_busiest(self) -> Dropped:
        key = max(self._turns, key=lambda k: len(self._queues[k]))
        line = self._queues[key].popleft()
        self._queued -= 1
        if not self._queues[key]:
            self._forget(key)
        return Dropped(key, line)

    def _forget(self, key: str) -> None:
        del self._queues[key]
        self._turns.remove(key)

    def delay(self, now: float) -> float | None:
        """Seconds until a line may be taken (0: now); None when nothing is queued."""
        if self._priority:
            return 0.0
        if not self._queued:
            return None
        if self.rate == 0:
            return 0.0
        self._refill(now)
        if self._tokens >= 1 - _EPSILON:
            return 0.0
        return (1 - self._tokens) / self.rate

    def take(self, now: float) -> str | None:
        """The next line to send at `now`, or None if nothing may be sent yet."""
        self._refill(now)
        if self._priority:
            self._spend()
            return self._priority.popleft()
        if not self._queued or (self.rate and self._tokens < 1 - _EPSILON):
            return None
        self._spend()
        return self._take_round_robin()

    def _take_round_robin(self) -> str:
        key = self._turns.popleft()
        queue = self._queues[key]
        line = queue.popleft()
        self._queued -= 1
        if queue:
            self._turns.append(key)
        else:
            del self._queues[key]
        return line

    def _spend(self) -> None:
        if self.rate:
            # Priority lines go out even with no token left, but never put the bucket
            # in debt (registration would otherwise delay the first JOINs for seconds).
            self._tokens = max(self._tokens - 1, 0.0)

    def _refill(self, now: float) -> None:
        if self._last is not None and self.rate:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        self._last = now if self._last is None else max(self._last, now)

    def clear(self) -> None:
        """Forget every queued line (the connection is gone)."""
        self._priority.clear()
        self._queues.clear()
        self._turns.clear()
        self._queued = 0


class OutboxPump:
    """Sends lines from an `Outbox` when they are due. Never blocks the caller of `wake`."""

    def __init__(
        self,
        outbox: Outbox,
        write: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.outbox = outbox
        self._write = write
        self._clock = clock
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def wake(self) -> None:
        """Tell the pump something was put in the outbox. Without pacing (rate 0) there is
        no order between channels to keep, so what was put is written at once: a reply
        does not wait for the pump's next turn of the loop. With pacing the pump takes the
        channels in turn."""
        if self.outbox.rate == 0:
            now = self._clock()
            while (line := self.outbox.take(now)) is not None:
                self._write(line)
        self._idle.clear()
        self._wakeup.set()

    async def run(self) -> None:
        """Send lines forever (cancel the task to stop)."""
        while True:
            delay = self.outbox.delay(self._clock())
            if delay is None:
                self._idle.set()
                await self._wait(None)
            elif delay > 0:
                await self._wait(delay)
            else:
                line = self.outbox.take(self._clock())
                if line is None:
                    await asyncio.sleep(0)  # never spin without yielding
                else:
                    self._write(line)

    async def _wait(self, timeout: float | None) -> None:
        self._wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout)

    async def drained(self) -> None:
        """Return once the outbox is empty and everything taken has been written."""
        while len(self.outbox):
            self._idle.clear()
            await self._idle.wait()
