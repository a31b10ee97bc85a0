"""End to end: the bot as a process against a scripted server with services, which
knows accounts (WHOX, account-notify, extended-join) where ngircd cannot.

A chair who was in the channel before the bot came and never speaks is bound to their
account from WHOX: after they leave, a stranger who takes the nick is not obeyed.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.botproc import BotProcess
from tests.ircserver import FakePeer, FakeServer

CHANNEL = "#m"


@pytest.fixture
async def fake() -> AsyncIterator[FakeServer]:
    server = await FakeServer().start()
    yield server
    await server.close()


async def registered(fake: FakeServer, accounts: dict[str, str | None]) -> FakePeer:
    peer = await fake.next_peer(timeout=20)  # the bot process starts first
    peer.accounts = accounts
    await peer.expect("CAP LS 302")
    await peer.send(":fake CAP * LS :account-notify extended-join account-tag")
    await peer.expect("CAP REQ")
    await peer.send(":fake CAP meetbot ACK :account-notify extended-join account-tag")
    await peer.expect("CAP END")
    await peer.send(":fake 001 meetbot :Welcome")
    await peer.send(":fake 005 meetbot WHOX CHANTYPES=# :are supported by this server")
    await peer.expect(f"JOIN {CHANNEL}")
    await peer.send(f":meetbot!m@h JOIN {CHANNEL} * :Gavel")
    await peer.send(f":fake 353 meetbot = {CHANNEL} :meetbot alice carol")
    await peer.send(f":fake 366 meetbot {CHANNEL} :End of /NAMES list.")
    return peer


async def test_whox_binds_a_silent_chair_and_refuses_a_stranger(
    fake: FakeServer, tmp_path: Path
) -> None:
    bot = BotProcess(tmp_path / "bot", fake.port, channels=[CHANNEL])
    bot.start()
    try:
        peer = await registered(fake, {"meetbot": None, "alice": None, "carol": "carolacct"})
        assert await peer.expect("WHO ", timeout=5) == f"WHO {CHANNEL} %tna,616"
        await peer.send(f":alice!a@h PRIVMSG {CHANNEL} :#startmeeting heat")
        await peer.expect("The meeting name has been set to 'heat'", timeout=10)
        await peer.send(f":alice!a@h PRIVMSG {CHANNEL} :#chair carol")
        await peer.expect("Current chairs: alice carol", timeout=5)
        # carol never spoke; she leaves, and a stranger (no account) takes her nick
        await peer.send(":carol!c@h QUIT :bye")
        await peer.send(f":carol!x@elsewhere JOIN {CHANNEL} * :Not Carol")
        await peer.send(f":carol!x@elsewhere PRIVMSG {CHANNEL} :#topic hijacked")
        await peer.send(f":carol!x@elsewhere PRIVMSG {CHANNEL} :#chair mallory")
        await peer.send(f":alice!a@h PRIVMSG {CHANNEL} :#chair")
        await peer.expect(re.compile(r"Current chairs: alice carol$"), timeout=5)
        assert peer.seen("TOPIC") == []
        assert peer.seen("mallory") == []
        # the real carol, identified, is still a chair under another nick
        await peer.send(f"@account=carolacct :carol2!c@h PRIVMSG {CHANNEL} :#topic real")
        await peer.expect(re.compile(rf"^TOPIC {CHANNEL} :"), timeout=5)
    finally:
        bot.stop()
