"""End to end: `NetworkClient` against a real ngircd, and against a scripted server for
what ngircd cannot do (CAP/SASL, server-time, hostile bytes, TLS)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import re
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from bot.core.effects import Say, SetTopic
from bot.core.events import Event, Joined, Kicked, MembersListed, MessageSeen, ServerInfo
from bot.irc import ClientOptions, NetworkClient, Timings
from bot.irc.client import redact
from bot.irc.connection import TlsPinError, tls_context
from bot.settings import ChannelConfig, Identity, NetworkConfig, SaslConfig, TlsConfig
from tests.ircserver import HOST, FakeServer, Ngircd, RawClient, next_event

IDENTITY = Identity(nick="gavel", alt_nicks=("gavel2",), username="gavel", realname="Gavel")
FAST = ClientOptions(timings=Timings(kick_rejoin=0.3, join_retry=30, regain_nick=30))


def network(port: int, *channels: ChannelConfig, **kw: Any) -> NetworkConfig:
    options: dict[str, Any] = {"rate": 0.0, "burst": 4}
    options.update(kw)
    return NetworkConfig(name="test", host=HOST, port=port, channels=channels, **options)


def make_client(config: NetworkConfig) -> tuple[NetworkClient, asyncio.Queue[Event]]:
    queue: asyncio.Queue[Event] = asyncio.Queue()
    ids = itertools.count(1)
    client = NetworkClient(config, IDENTITY, queue, ids=lambda: next(ids), options=FAST)
    return client, queue


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


@pytest.fixture
async def people(ircd: Ngircd) -> AsyncIterator[list[RawClient]]:
    """Two people already in #a (alice has op) and #b."""
    alice = await RawClient.connect(ircd.host, ircd.port, "alice")
    bob = await RawClient.connect(ircd.host, ircd.port, "bob")
    for person in (alice, bob):
        await person.join("#a")
        await person.join("#b")
    yield [alice, bob]
    for person in (alice, bob):
        await person.close()


async def connected(
    config: NetworkConfig, *channels: str
) -> tuple[NetworkClient, asyncio.Queue[Event]]:
    client, queue = make_client(config)
    await client.connect()
    for channel in channels:
        await next_event(queue, Joined, bot_joined(channel))
    return client, queue


def bot_joined(channel: str) -> Callable[[Joined], bool]:
    return lambda j: j.nick == j.bot_nick and j.channel == channel


# -- against ngircd ------------------------------------------------------------------


async def test_joins_two_channels_and_hears_people(ircd: Ngircd, people: list[RawClient]) -> None:
    alice, bob = people
    config = network(ircd.port, ChannelConfig("#a"), ChannelConfig("#b"))
    client, queue = await connected(config, "#a", "#b")
    try:
        await alice.say("#a", "hello in a")
        seen = await next_event(queue, MessageSeen)
        assert (seen.network, seen.channel, seen.nick, seen.text) == (
            "test",
            "#a",
            "alice",
            "hello in a",
        )
        assert (seen.bot_nick, seen.action) == ("gavel", False)
        await bob.say("#b", "\x01ACTION waves\x01")
        seen = await next_event(queue, MessageSeen)
        assert (seen.channel, seen.nick, seen.text, seen.action) == ("#b", "bob", "waves", True)
        await bob.say("#a", "hi \x01X\x01 there")
        seen = await next_event(queue, MessageSeen)
        assert (seen.text, seen.action) == ("hi \x01X\x01 there", False)
        await alice.say("gavel", "psst")
        seen = await next_event(queue, MessageSeen)
        assert (seen.channel, seen.text) == (None, "psst")
    finally:
        await client.quit("bye", timeout=2)


async def test_names_and_casemapping_arrive(ircd: Ngircd, people: list[RawClient]) -> None:
    client, queue = make_client(network(ircd.port, ChannelConfig("#a")))
    await client.connect()
    try:
        info = await next_event(queue, ServerInfo)
        assert info.casemapping == "ascii"
        listed = await next_event(queue, MembersListed)
        members = {m.nick: m.op for m in listed.members}
        assert members == {"alice": True, "bob": False, "gavel": False}
    finally:
        await client.quit(timeout=2)


async def test_say_and_topic_reach_the_channel(ircd: Ngircd, people: list[RawClient]) -> None:
    alice, _bob = people
    await alice.send("MODE #a -t")
    client, _queue = await connected(network(ircd.port, ChannelConfig("#a")), "#a")
    try:
        client.perform(Say("test", "#a", "line one\r\nQUIT :injected"))
        client.perform(SetTopic("test", "#a", "new topic\nx"))
        await alice.expect(":gavel!~gavel@127.0.0.1 PRIVMSG #a :line oneQUIT :injected")
        await alice.expect(re.compile(r"TOPIC #a :new topicx$"))
        long_text = " ".join(["wörd"] * 300)
        assert client.send_privmsg("#a", long_text) > 1
        pieces = []
        for _ in range(10):
            line = await alice.expect("PRIVMSG #a :w")
            assert len(line.encode()) + 2 <= 512
            pieces.append(line.split(" :", 1)[1])
            if " ".join(pieces) == long_text:
                break
        assert " ".join(pieces) == long_text
    finally:
        await client.quit(timeout=2)


async def test_nick_in_use_takes_the_alternative(ircd: Ngircd, people: list[RawClient]) -> None:
    squatter = await RawClient.connect(ircd.host, ircd.port, "gavel")
    await squatter.join("#a")  # so the bot sees it leave
    try:
        client, _queue = await connected(network(ircd.port, ChannelConfig("#a")), "#a")
        assert client.nick == "gavel2"
        await squatter.send("QUIT :leaving")
        await wait_for(lambda: client.nick == "gavel")  # regained when the holder left
        await client.quit(timeout=2)
    finally:
        await squatter.close()


async def test_kicked_bot_rejoins(ircd: Ngircd, people: list[RawClient]) -> None:
    alice, _bob = people
    client, queue = await connected(network(ircd.port, ChannelConfig("#a")), "#a")
    try:
        started = time.monotonic()
        await alice.send("KICK #a gavel :out")
        kicked = await next_event(queue, Kicked)
        assert (kicked.nick, kicked.by, kicked.reason) == ("gavel", "alice", "out")
        await next_event(queue, Joined, lambda j: j.nick == "gavel")
        assert time.monotonic() - started >= 0.3
    finally:
        await client.quit(timeout=2)


async def test_banned_channel_is_not_fatal(ircd: Ngircd, people: list[RawClient]) -> None:
    alice, _bob = people
    await alice.send("MODE #b +b gavel!*@*")
    await alice.expect("MODE #b +b")
    client, queue = await connected(network(ircd.port, ChannelConfig("#b"), ChannelConfig("#a")))
    try:
        await next_event(queue, Joined, lambda j: j.nick == "gavel" and j.channel == "#a")
        await alice.say("#a", "still here")
        assert (await next_event(queue, MessageSeen)).text == "still here"
        assert client.session is not None
        assert not client.session.channels["#b"].joined
    finally:
        await client.quit(timeout=2)


async def test_outbox_pacing_and_fairness(ircd: Ngircd, people: list[RawClient]) -> None:
    alice, _bob = people
    config = network(ircd.port, ChannelConfig("#a"), ChannelConfig("#b"), rate=10.0, burst=4)
    client, _queue = await connected(config, "#a", "#b")
    try:
        await asyncio.sleep(0.5)  # let the bucket refill after registration
        started = time.monotonic()
        for i in range(20):
            client.send_privmsg("#a", f"busy {i}")
        client.send_privmsg("#b", "quiet one")
        arrivals: list[tuple[float, str]] = []
        for _ in range(21):
            line = await alice.expect(re.compile(r"PRIVMSG #[ab] :"), timeout=5)
            arrivals.append((time.monotonic() - started, line.split(" :", 1)[1]))
        texts = [text for _, text in arrivals]
        assert texts.index("quiet one") <= 5  # not behind the 20 busy lines
        assert [t for t in texts if t.startswith("busy")] == [f"busy {i}" for i in range(20)]
        assert arrivals[-1][0] >= 1.5  # 21 lines, 4 at once then 10/s: ~1.7 s
    finally:
        await client.quit(timeout=2)


async def test_quit_is_sent_and_bounded(ircd: Ngircd, people: list[RawClient]) -> None:
    alice, _bob = people
    client, _queue = await connected(network(ircd.port, ChannelConfig("#a")), "#a")
    started = time.monotonic()
    await client.quit("see you", timeout=2)
    assert time.monotonic() - started < 2.5
    await alice.expect(re.compile(r"^:gavel!\S+ QUIT :"))
    assert not client.connected


# -- against a scripted server ---------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeServer]:
    server = await FakeServer().start()
    yield server
    await server.close()


async def test_cap_sasl_and_server_time(fake: FakeServer) -> None:
    config = network(fake.port, ChannelConfig("#c"), sasl=SaslConfig("PLAIN", "acct", "pw"))
    client, queue = make_client(config)
    await client.connect()
    try:
        peer = await fake.next_peer()
        await peer.expect("CAP LS 302")
        await peer.send(":fake CAP * LS * :server-time account-tag echo-message")
        await peer.send(":fake CAP * LS :sasl=PLAIN extended-join batch")
        request = await peer.expect("CAP REQ")
        assert request.split(" :", 1)[1].split() == [
            "server-time",
            "echo-message",
            "account-tag",
            "extended-join",
            "batch",
            "sasl",
        ]
        await peer.send(":fake CAP gavel ACK :server-time echo-message account-tag")
        await peer.send(":fake CAP gavel ACK :extended-join batch sasl")
        await peer.expect("AUTHENTICATE PLAIN")
        await peer.send("AUTHENTICATE +")
        auth = await peer.expect(re.compile(r"^AUTHENTICATE \S{4,}"))
        assert auth == "AUTHENTICATE YWNjdABhY2N0AHB3"  # acct\0acct\0pw
        await peer.send(":fake 900 gavel gavel!g@h acct :You are now logged in")
        await peer.send(":fake 903 gavel :SASL authentication successful")
        await peer.expect("CAP END")
        await peer.send(":fake 001 gavel :Welcome")
        await peer.expect("JOIN #c")
        await peer.send("@time=2021-01-01T00:00:00.000Z :gavel!g@h JOIN #c acct :Gavel")
        joined = await next_event(queue, Joined)
        assert joined.account == "acct"
        await peer.send("@time=2021-01-01T00:00:05.500Z;account=al :alice!a@h PRIVMSG #c :hi")
        seen = await next_event(queue, MessageSeen)
        assert seen.time.isoformat() == "2021-01-01T00:00:05.500000+00:00"
        assert (seen.account, seen.echoes_own_lines) == ("al", True)
    finally:
        await client.quit(timeout=1)


async def test_lines_sent_before_we_speak_are_answered(fake: FakeServer) -> None:
    fake.greeting = b":fake NOTICE * :*** Looking up your hostname\r\nPING :early\r\n"
    client, _queue = make_client(network(fake.port))
    await client.connect()
    try:
        peer = await fake.next_peer()
        await peer.expect("PONG :early")
        await wait_for(lambda: bool(peer.seen("CAP LS 302")))
    finally:
        await client.quit(timeout=1)


async def test_hostile_input_never_closes_the_connection(fake: FakeServer) -> None:
    client, queue = make_client(network(fake.port, ChannelConfig("#c")))
    await client.connect()
    try:
        peer = await fake.next_peer()
        await peer.register()
        await peer.expect("JOIN #c")
        await peer.send_bytes(b" :x!y@z PRIVMSG #c :leading space\r\n")
        await peer.send_bytes(b":x!y@z PRIVMSG #c :caf\xe9 \x93quoted\x94\r\n")
        await peer.send_bytes(b":x!y@z PRIVMSG #c :lone\rcr\r\n")
        await peer.send_bytes(b":x!y@z QUIT\r\n:x!y@z KICK\r\n:srv 353\r\n@;;; :\r\n")
        await peer.send_bytes(b":x!y@z PRIVMSG #c :" + b"m" * (1024 * 1024))  # no newline
        await peer.send_bytes(b"\r\n:x!y@z PRIVMSG #c :" + "ä".encode() * 255 + b"\r\n")
        texts = [(await next_event(queue, MessageSeen)).text for _ in range(5)]
        assert texts[0] == "leading space"
        assert texts[1] == "caf\xe9 \x93quoted\x94"  # latin-1: every byte kept
        assert texts[2] == "lone\rcr"
        assert texts[3].startswith("mmm") and len(texts[3]) < 17 * 1024
        assert texts[4] == "ä" * 255
        assert client.connected
    finally:
        await client.quit(timeout=1)


async def test_a_failing_translation_is_logged_not_fatal(
    fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.irc import translate

    client, queue = make_client(network(fake.port, ChannelConfig("#c")))
    original = translate.Translator.translate

    def exploding(
        self: translate.Translator, event: Any, ctx: translate.Context, *stamp: Any
    ) -> list[Event]:
        if event.arguments and event.arguments[0] == "boom":
            raise RuntimeError("handler bug")
        return original(self, event, ctx, *stamp)

    monkeypatch.setattr(translate.Translator, "translate", exploding)
    await client.connect()
    try:
        peer = await fake.next_peer()
        await peer.register()
        await peer.send(":x!y@z PRIVMSG #c :boom")
        await peer.send(":x!y@z PRIVMSG #c :after")
        assert (await next_event(queue, MessageSeen)).text == "after"
        assert client.connected
    finally:
        await client.quit(timeout=1)


async def test_secrets_never_reach_the_logs(fake: FakeServer) -> None:
    config = network(
        fake.port,
        ChannelConfig("#locked", key="k3y-hunter2"),
        sasl=SaslConfig("PLAIN", "acct", "s3cr3t-pass", required=False),
        rate=1.0,
        burst=1,
    )
    payload = base64.b64encode(b"acct\0acct\0s3cr3t-pass").decode()
    with structlog.testing.capture_logs() as logs:
        client, _queue = make_client(config)
        await client.connect()
        peer = await fake.next_peer()
        await peer.expect("CAP LS")
        await peer.send(":fake CAP * LS :sasl")
        await peer.expect("CAP REQ :sasl")
        await peer.send(":fake CAP gavel ACK :sasl")
        await peer.expect("AUTHENTICATE PLAIN")
        await peer.send("AUTHENTICATE +")
        assert await peer.expect("AUTHENTICATE ") == f"AUTHENTICATE {payload}"
        await peer.send(":fake 904 gavel :SASL authentication failed")
        await peer.expect("CAP END")
        await peer.send(":fake 001 gavel :Welcome")
        assert await peer.expect("JOIN") == "JOIN #locked k3y-hunter2"
        await peer.send(":fake 475 gavel #locked :Cannot join channel (+k)")
        await wait_for(lambda: any(e["event"] == "irc.join_refused" for e in logs))
        for _ in range(300):  # a full outbox logs what it drops
            client.send_privmsg("#locked", "x")
        await client.quit(timeout=1)
    text = repr(logs)
    assert "irc.sasl_failed" in text
    assert "irc.outbox_full_dropped" in text
    for secret in ("k3y-hunter2", "s3cr3t-pass", payload):
        assert secret not in text


def test_redact() -> None:
    assert redact("JOIN #a key") == "JOIN #a <key>"
    assert redact("JOIN #a") == "JOIN #a"
    assert redact("AUTHENTICATE PLAIN") == "AUTHENTICATE PLAIN"
    assert redact("AUTHENTICATE abcd==") == "AUTHENTICATE <hidden>"
    assert redact("PASS x") == "PASS <hidden>"
    assert redact("PRIVMSG #a :hi") == "PRIVMSG #a :hi"


# -- TLS -------------------------------------------------------------------------------


def make_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def tls_fake(tmp_path: Path) -> AsyncIterator[tuple[FakeServer, Path]]:
    cert, key = make_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = await FakeServer().start(context)
    yield server, cert
    await server.close()


def test_tls_context_settings(tmp_path: Path) -> None:
    assert tls_context(TlsConfig(enabled=False)) is None
    strict = tls_context(TlsConfig(enabled=True))
    assert strict is not None
    assert (strict.verify_mode, strict.check_hostname) == (ssl.CERT_REQUIRED, True)
    cert, key = make_certificate(tmp_path)
    pinned = tls_context(TlsConfig(enabled=True, fingerprint="ab" * 32))
    assert pinned is not None and pinned.verify_mode == ssl.CERT_NONE
    unverified = tls_context(TlsConfig(enabled=True, verify=False))
    assert unverified is not None and unverified.verify_mode == ssl.CERT_NONE
    with_cert = tls_context(TlsConfig(enabled=True, client_cert=cert, client_key=key))
    assert with_cert is not None and with_cert.verify_mode == ssl.CERT_REQUIRED


def der_fingerprint(cert: Path) -> str:
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


async def test_tls_verifies_certificates_by_default(tls_fake: tuple[FakeServer, Path]) -> None:
    server, _cert = tls_fake
    client, _queue = make_client(network(server.port, tls=TlsConfig(enabled=True)))
    with pytest.raises(ssl.SSLCertVerificationError):
        await client.connect()
    assert not client.connected


async def test_tls_with_ca_file_or_pinned_fingerprint(tls_fake: tuple[FakeServer, Path]) -> None:
    server, cert = tls_fake
    for tls in (
        TlsConfig(enabled=True, ca_file=cert),
        TlsConfig(enabled=True, fingerprint=der_fingerprint(cert)),
    ):
        client, _queue = make_client(network(server.port, tls=tls))
        await client.connect()
        peer = await server.next_peer()
        await peer.expect("CAP LS 302")
        assert client.connected
        await client.quit(timeout=0.5)
    wrong = TlsConfig(enabled=True, fingerprint="00" * 32)
    client, _queue = make_client(network(server.port, tls=wrong))
    with pytest.raises(TlsPinError):
        await client.connect()


async def test_the_lines_of_one_read_share_one_receive_time(fake: FakeServer) -> None:
    # Every line of one read arrived at one moment: the wall clock is read once for them
    # (not once per line), and again for the next read.
    calls: list[datetime] = []

    def wall_clock() -> datetime:
        calls.append(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=len(calls)))
        return calls[-1]

    queue: asyncio.Queue[Event] = asyncio.Queue()
    ids = itertools.count(1)
    client = NetworkClient(
        network(fake.port, ChannelConfig("#c")),
        IDENTITY,
        queue,
        ids=lambda: next(ids),
        options=FAST,
        wall_clock=wall_clock,
    )
    await client.connect()
    try:
        peer = await fake.next_peer()
        await peer.register()
        await peer.send_bytes(b"".join(b":x!y@z PRIVMSG #c :%d\r\n" % n for n in range(5)))
        together = [await next_event(queue, MessageSeen) for _ in range(5)]
        await peer.send(":x!y@z PRIVMSG #c :later")
        later = await next_event(queue, MessageSeen)
        assert len({m.time for m in together}) == 1
        assert later.time > together[0].time
        assert [m.text for m in together] == ["0", "1", "2", "3", "4"]
    finally:
        await client.quit(timeout=1)
