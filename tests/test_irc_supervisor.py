"""Reconnecting and watching: pure backoff/watchdog rules, then real outages."""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import structlog

from bot.core.events import Disconnected, Event, Joined, MessageSeen
from bot.irc import Backoff, ClientOptions, NetworkClient, Supervisor, Timings
from bot.irc.supervisor import Watchdog
from bot.settings import ChannelConfig, Identity, NetworkConfig, SaslConfig
from tests.ircserver import HOST, FakePeer, FakeServer, Ngircd, RawClient, free_port, next_event

IDENTITY = Identity(nick="gavel", username="gavel")


def test_backoff_has_full_jitter_under_a_growing_capped_ceiling() -> None:
    backoff = Backoff(first=10, cap=300, rng=random.Random(1))
    ceilings = []
    for _ in range(10):
        ceilings.append(backoff.ceiling())
        assert 0 <= backoff.next_delay() <= ceilings[-1]
    assert ceilings == [10, 20, 40, 80, 160, 300, 300, 300, 300, 300]
    backoff.reset()
    assert backoff.ceiling() == 10


def test_backoff_delays_are_spread() -> None:
    backoff = Backoff(first=10, cap=300, rng=random.Random(7))
    firsts = []
    for _ in range(50):
        backoff.reset()
        firsts.append(backoff.next_delay())
    assert max(firsts) <= 10
    assert max(firsts) - min(firsts) > 5


def test_watchdog_pings_once_then_gives_up() -> None:
    dog = Watchdog(ping_after=60, dead_after=120)
    assert dog.check(now=59, last_heard=0) == "ok"
    assert dog.check(now=60, last_heard=0) == "ping"
    assert dog.check(now=90, last_heard=0) == "ok"  # one PING per silence
    assert dog.check(now=100, last_heard=95) == "ok"  # heard again
    assert dog.check(now=155, last_heard=95) == "ping"
    assert dog.check(now=215, last_heard=95) == "dead"


def test_watchdog_needs_sane_intervals() -> None:
    with pytest.raises(ValueError):
        Watchdog(ping_after=10, dead_after=5)


# -- live ------------------------------------------------------------------------------


def supervised(
    port: int,
    *channels: str,
    ping_after: float = 60,
    dead_after: float = 120,
    sasl: SaslConfig | None = None,
) -> tuple[Supervisor, asyncio.Queue[Event]]:
    queue: asyncio.Queue[Event] = asyncio.Queue()
    ids = itertools.count(1)
    config = NetworkConfig(
        name="test",
        host=HOST,
        port=port,
        rate=0.0,
        channels=tuple(ChannelConfig(c) for c in channels),
        sasl=sasl,
    )
    options = ClientOptions(timings=Timings(kick_rejoin=0.2, join_retry=30, regain_nick=30))
    client = NetworkClient(config, IDENTITY, queue, ids=lambda: next(ids), options=options)
    supervisor = Supervisor(
        client,
        backoff=Backoff(first=0.3, cap=0.6),
        ping_after=ping_after,
        dead_after=dead_after,
        stable_after=0.5,
    )
    return supervisor, queue


def bot_joined(channel: str) -> Callable[[Joined], bool]:
    return lambda j: j.nick == j.bot_nick and j.channel == channel


@pytest.fixture
async def fake() -> AsyncIterator[FakeServer]:
    server = await FakeServer().start()
    yield server
    await server.close()


async def test_server_restart_gives_disconnected_then_rejoin(ircd: Ngircd) -> None:
    supervisor, queue = supervised(ircd.port, "#a", "#b")
    supervisor.start()
    try:
        await next_event(queue, Joined, lambda j: j.nick == "gavel" and j.channel == "#b")
        alice = await RawClient.connect(ircd.host, ircd.port, "alice")
        await alice.join("#a")
        await alice.say("#a", "before")
        before = await next_event(queue, MessageSeen)
        await alice.close()
        ircd.stop()
        gone = await next_event(queue, Disconnected)
        assert gone.time >= before.time
        assert gone.reason.startswith("server error:")
        ircd.start()
        for channel in ("#a", "#b"):
            await next_event(queue, Joined, bot_joined(channel))
        assert supervisor.connections == 2
        alice = await RawClient.connect(ircd.host, ircd.port, "alice")
        await alice.join("#a")
        await alice.say("#a", "after")
        assert (await next_event(queue, MessageSeen)).text == "after"
        await alice.close()
    finally:
        await supervisor.stop("bye", timeout=2)


async def test_connection_refused_is_retried(tmp_path: Path) -> None:
    port = free_port()  # nothing listens yet
    supervisor, queue = supervised(port, "#a")
    supervisor.start()
    server = Ngircd(tmp_path / "late", port=port)
    try:
        await asyncio.sleep(0.5)  # a few refused attempts
        assert supervisor.connections == 0
        server.start()
        await next_event(queue, Joined, lambda j: j.nick == "gavel", timeout=5)
    finally:
        await supervisor.stop(timeout=2)
        server.stop()


async def test_watchdog_pings_a_silent_server_then_reconnects(fake: FakeServer) -> None:
    supervisor, queue = supervised(fake.port, "#a", ping_after=0.4, dead_after=0.9)
    supervisor.start()
    try:
        peer = await fake.next_peer()
        await peer.register()
        await peer.expect("JOIN #a")
        await peer.send(":gavel!g@h JOIN #a")
        await next_event(queue, Joined)
        started = time.monotonic()
        await peer.expect("PING", timeout=2)  # silence: the bot asks
        assert time.monotonic() - started >= 0.35
        # ... and gets no answer: it gives up and connects again
        gone = await next_event(queue, Disconnected, timeout=3)
        assert gone.reason == "no answer from server"
        assert time.monotonic() - started >= 0.85
        second = await fake.next_peer(timeout=3)
        await second.register()
        await second.expect("JOIN #a")
    finally:
        await supervisor.stop(timeout=1)


async def test_an_answered_ping_keeps_the_connection(fake: FakeServer) -> None:
    supervisor, _queue = supervised(fake.port, ping_after=0.3, dead_after=0.8)
    supervisor.start()
    try:
        peer = await fake.next_peer()
        await peer.register()
        for _ in range(3):
            line = await peer.expect("PING", timeout=2)
            await peer.send(":fake PONG fake :" + line.split(":", 1)[1])
        assert supervisor.connections == 1
        assert supervisor.client.connected
    finally:
        await supervisor.stop(timeout=1)


async def test_stop_is_bounded_even_when_the_server_ignores_quit(fake: FakeServer) -> None:
    supervisor, _queue = supervised(fake.port, "#a")
    supervisor.start()
    peer = await fake.next_peer()
    await peer.register()
    peer.on_line = lambda line: None  # type: ignore[method-assign]  # it ignores QUIT
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await supervisor.stop("bye", timeout=1.0)
    assert time.monotonic() - started < 1.5
    await peer.expect("QUIT :bye")
    assert not supervisor.client.connected


async def test_a_registration_that_never_finishes_is_abandoned(fake: FakeServer) -> None:
    supervisor, _queue = supervised(fake.port, ping_after=5, dead_after=10)
    supervisor.register_timeout = 0.4
    supervisor.start()
    try:
        first = await fake.next_peer()
        await first.expect("USER ")  # and never welcome it, but keep talking
        for _ in range(6):
            await first.send(":fake NOTICE * :still looking up your hostname")
            await asyncio.sleep(0.1)
        second = await fake.next_peer(timeout=3)
        await second.register()
        await asyncio.sleep(0.1)
        assert supervisor.client.registered
    finally:
        await supervisor.stop(timeout=1)


async def sasl_exchange(peer: FakePeer, outcome: str) -> None:
    """Answer CAP and SASL PLAIN up to the server's verdict (`outcome`: a 90x line)."""
    await peer.expect("CAP LS 302")
    await peer.send(":fake CAP * LS :sasl=PLAIN")
    await peer.expect("CAP REQ :sasl")
    await peer.send(":fake CAP gavel ACK :sasl")
    await peer.expect("AUTHENTICATE PLAIN")
    await peer.send("AUTHENTICATE +")
    await peer.expect(re.compile(r"^AUTHENTICATE \S{4,}"))
    await peer.send(outcome)


async def test_required_sasl_that_fails_reconnects_instead_of_running_unidentified(
    fake: FakeServer,
) -> None:
    supervisor, _queue = supervised(fake.port, "#a", sasl=SaslConfig("PLAIN", "acct", "pw"))
    with structlog.testing.capture_logs() as logs:
        supervisor.start()
        try:
            first = await fake.next_peer()
            await sasl_exchange(first, ":fake 904 gavel :SASL authentication failed")
            async with asyncio.timeout(3):
                while not first.closed:  # the bot hangs up ...
                    await asyncio.sleep(0.02)
            assert first.seen("CAP END") == [] and first.seen("JOIN") == []  # ... unregistered
            second = await fake.next_peer(timeout=3)  # ... and comes back (services are up)
            await sasl_exchange(second, ":fake 900 gavel gavel!g@h acct :You are now logged in")
            await second.send(":fake 903 gavel :SASL authentication successful")
            await second.expect("CAP END")
            await second.send(":fake 001 gavel :Welcome")
            await second.expect("JOIN #a")
            assert supervisor.client.session is not None
            assert supervisor.client.session.account == "acct"
        finally:
            await supervisor.stop(timeout=1)
    failed = [e for e in logs if e["event"] == "irc.sasl_required_reconnecting"]
    assert [e["reason"] for e in failed] == ["authentication failed (904)"]
    assert any(e["event"] == "irc.aborting" and "SASL failed" in e["reason"] for e in logs)
