"""Real receivers of announcements for the tests: an HTTP server (aiohttp) and an SMTP
server (aiosmtpd), both on 127.0.0.1, that keep what they received."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller

from tests.ircserver import free_port

SECRET = "s3cret-for-tests"


@dataclass
class Received:
    delivery: str
    event: str
    body: dict[str, Any]
    signed: bool
    at: float


@dataclass
class HookReceiver:
    """POSTs in `received`; refuses (503) the first `refuse` attempts; `hang` keeps every
    request waiting until closed; `stop()`/`start()` take it down and up on the same port."""

    port: int = field(default_factory=free_port)
    refuse: int = 0
    hang: bool = False
    received: list[Received] = field(default_factory=list)
    attempts: int = 0
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        body = await request.read()
        if self.hang:
            await self._release.wait()
        if self.refuse > 0:
            self.refuse -= 1
            return web.Response(status=503, text="busy")
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(expected, request.headers.get("X-Gavel-Signature", ""))
        self.received.append(
            Received(
                request.headers.get("X-Gavel-Delivery", ""),
                request.headers.get("X-Gavel-Event", ""),
                json.loads(body),
                signed,
                time.monotonic(),
            )
        )
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._release = asyncio.Event()

    def ids(self) -> list[str]:
        return [r.delivery for r in self.received]


class _Keeper:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"


class MailReceiver:
    """An SMTP server without TLS on 127.0.0.1 (the bot's `security = "none"`)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.keeper = _Keeper()
        self.controller = Controller(self.keeper, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[Message]:
        return self.keeper.messages

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
