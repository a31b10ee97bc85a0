"""Delivering the outbox: the edge task that sends announcements and retries them.

Each due row is sent in its own task (a receiver that hangs holds only its own delivery,
never the bot's replies or recording, which do not wait for this task at all), with a
timeout. A success is marked sent; a failure is tried again after `retry_first_delay *
2**attempts` seconds (at most `retry_max_delay`) until `retry_for_hours` after it was
queued. The schedule lives in the outbox, so it goes on across restarts. A crash between
sending and marking sent repeats the delivery once with the same delivery id (and the same
email Message-ID).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate

import aiohttp
import aiosmtplib
import structlog

from bot.announce.compose import EMAIL, receiver_of
from bot.settings import AnnounceSettings, EmailSettings, WebhookSettings
from bot.store import Store
from bot.store.followup import Delivery

log = structlog.get_logger("gavel.announce")

MAX_IN_FLIGHT = 16
IDLE_SECONDS = 60.0  # look at the outbox at least this often even when nothing woke us
SIGNATURE_HEADER = "X-Gavel-Signature"
DELIVERY_HEADER = "X-Gavel-Delivery"
EVENT_HEADER = "X-Gavel-Event"


class DeliveryError(Exception):
    """A receiver refused or could not be reached; the delivery is tried again later."""


def signature(secret: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256 of `body` under `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_delay(attempts: int, first: float, maximum: float) -> float:
    """Seconds to wait after the `attempts`-th failed attempt (1-based)."""
    return float(min(first * 2 ** max(0, attempts - 1), maximum))


def email_message(email: EmailSettings, delivery: Delivery) -> EmailMessage:
    mail = json.loads(delivery.payload)
    message = EmailMessage()
    message["From"] = email.sender
    message["To"] = ", ".join(mail["to"])
    message["Subject"] = mail["subject"]
    message["Message-ID"] = mail["message_id"]
    message["Date"] = formatdate(delivery.created.timestamp(), usegmt=True)
    message[DELIVERY_HEADER] = delivery.delivery_id
    message.set_content(mail["text"])
    return message


class Sender:
    """Delivers what the outbox holds; `wake()` after queuing something new."""

    def __init__(
        self,
        settings: AnnounceSettings,
        store: Store,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self._wake = asyncio.Event()
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._hooks = {receiver_of(h): h for h in settings.webhooks}
        self.sent = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled."""
        async with aiohttp.ClientSession() as session:
            try:
                while True:
                    self._wake.clear()
                    await self._start_due(session)
                    await self._sleep()
            finally:
                for task in self._in_flight.values():
                    task.cancel()

    async def _start_due(self, session: aiohttp.ClientSession) -> None:
        room = MAX_IN_FLIGHT - len(self._in_flight)
        if room <= 0:
            return
        try:
            due = await self.store.due_deliveries(self.clock(), room + len(self._in_flight))
        except Exception:
            log.exception("outbox_unreadable")
            return
        for delivery in due:
            if delivery.id in self._in_flight or len(self._in_flight) >= MAX_IN_FLIGHT:
                continue
            task = asyncio.create_task(self._deliver(session, delivery))
            self._in_flight[delivery.id] = task
            task.add_done_callback(functools.partial(self._done, delivery.id))

    def _done(self, key: int, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(key, None)
        self._wake.set()  # room for the next one, or the next one is due

    async def _sleep(self) -> None:
        delay = IDLE_SECONDS
        with contextlib.suppress(Exception):
            due = await self.store.next_delivery_due()
            if due is not None:
                delay = min(delay, max(0.0, (due - self.clock()).total_seconds()))
        if delay <= 0 and len(self._in_flight) >= MAX_IN_FLIGHT:
            delay = IDLE_SECONDS  # full: a finishing delivery wakes us
        elif delay <= 0 and self._in_flight:
            delay = 0.05  # due rows are the ones in flight
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._wake.wait()

    async def _deliver(self, session: aiohttp.ClientSession, delivery: Delivery) -> None:
        bound = log.bind(delivery=delivery.delivery_id, receiver=delivery.receiver)
        started = self.clock()
        try:
            await self.send(session, delivery)
        except Exception as exc:  # every failure of a receiver is retried, whatever it was
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            await self._failed(delivery, error, bound)
            return
        try:
            await self.store.delivery_sent(delivery.id, self.clock())
        except Exception:
            bound.exception("delivery_not_marked")  # sent again later, with the same id
            return
        self.sent += 1
        seconds = (self.clock() - started).total_seconds()
        bound.info("delivered", event=delivery.event, attempts=delivery.attempts + 1, s=seconds)

    async def _failed(self, delivery: Delivery, error: str, bound: structlog.BoundLogger) -> None:
        now = self.clock()
        attempts = delivery.attempts + 1
        wait = retry_delay(attempts, self.settings.retry_first_delay, self.settings.retry_max_delay)
        next_at = now + timedelta(seconds=wait)
        give_up = next_at - delivery.created > timedelta(hours=self.settings.retry_for_hours)
        give_up = give_up or delivery.receiver not in (EMAIL, *self._hooks)
        bound.warning("delivery_failed", error=error, attempts=attempts, gave_up=give_up)
        with contextlib.suppress(Exception):
            await self.store.delivery_failed(delivery.id, error, next_at, give_up=give_up)

    async def send(self, session: aiohttp.ClientSession, delivery: Delivery) -> None:
        """One attempt; raises on any failure."""
        if delivery.receiver == EMAIL:
            if self.settings.email is None:
                raise DeliveryError("email is no longer configured")
            await self._send_email(self.settings.email, delivery)
            return
        hook = self._hooks.get(delivery.receiver)
        if hook is None:
            raise DeliveryError("this webhook is no longer configured")
        await self._post(session, hook, delivery)

    async def _send_email(self, email: EmailSettings, delivery: Delivery) -> None:
        await aiosmtplib.send(
            email_message(email, delivery),
            hostname=email.host,
            port=email.port,
            username=email.username,
            password=email.password,
            use_tls=email.security == "tls",
            start_tls=email.security == "starttls",
            validate_certs=True,
            timeout=self.settings.timeout,
        )

    async def _post(
        self, session: aiohttp.ClientSession, hook: WebhookSettings, delivery: Delivery
    ) -> None:
        body = delivery.payload.encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Gavel",
            SIGNATURE_HEADER: signature(hook.secret, body),
            DELIVERY_HEADER: delivery.delivery_id,
            EVENT_HEADER: delivery.event,
        }
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
        async with session.post(hook.url, data=body, headers=headers, timeout=timeout) as reply:
            if not 200 <= reply.status < 300:
                raise DeliveryError(f"HTTP {reply.status}")
