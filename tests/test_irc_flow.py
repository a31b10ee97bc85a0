"""Flow control: the client stops reading while the engine is far behind, then goes on."""

from __future__ import annotations

import asyncio
import itertools

from bot.core.events import Event
from bot.irc import client as client_module
from bot.irc.client import NetworkClient
from bot.irc.connection import IrcReactor
from bot.settings import ChannelConfig, Identity, NetworkConfig


class FakeTransport:
    def __init__(self) -> None:
        self.paused = False
        self.pauses = 0

    def pause_reading(self) -> None:
        self.paused = True
        self.pauses += 1

    def resume_reading(self) -> None:
        self.paused = False

    def is_closing(self) -> bool:
        return False


def line(n: int) -> bytes:
    return f":alice!a@h PRIVMSG #c :line {n}\r\n".encode()


async def test_reading_pauses_when_the_engine_is_behind_and_resumes_when_it_catches_up() -> None:
    queue: asyncio.Queue[Event] = asyncio.Queue()
    ids = itertools.count(1)
    config = NetworkConfig(name="n", host="127.0.0.1", channels=(ChannelConfig("#c"),))
    client = NetworkClient(config, Identity(nick="gavel"), queue, ids=lambda: next(ids))
    reactor = IrcReactor(asyncio.get_running_loop())
    reactor.add_handler(client._on_library_event)
    conn = reactor.new_connection()
    client._prepare(conn)
    conn.buffer = conn.buffer_class()
    conn.handlers, conn.real_server_name, conn.real_nickname = {}, "", "gavel"
    transport = FakeTransport()
    conn.transport = transport  # type: ignore[assignment]
    assert client.session is not None
    client.session.registered = True

    conn.process_data(b"".join(line(n) for n in range(client_module._PAUSE_AT - 1)))
    assert not transport.paused
    conn.process_data(line(0) + line(1))
    assert transport.paused and transport.pauses == 1
    assert queue.qsize() == client_module._PAUSE_AT + 1  # nothing read is ever dropped

    while queue.qsize() > client_module._RESUME_AT + 1:
        queue.get_nowait()
    await asyncio.sleep(0.05)
    assert transport.paused  # not yet down to the resume mark
    queue.get_nowait()
    async with asyncio.timeout(2):
        while transport.paused:
            await asyncio.sleep(0.005)
    conn.process_data(line(2))
    assert transport.pauses == 1
    for task in client._tasks:
        task.cancel()


def test_the_engine_takes_as_many_events_as_the_client_queues_before_pausing() -> None:
    from bot import engine
    from bot.flow import BATCH_EVENTS

    assert engine.MAX_BATCH == client_module._PAUSE_AT == BATCH_EVENTS
