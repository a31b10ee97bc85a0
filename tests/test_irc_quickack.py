"""Reads are acknowledged at once, so a server using Nagle's algorithm never holds a line."""

from __future__ import annotations

import asyncio
import socket

import pytest

from bot.irc import connection
from bot.irc.connection import IrcConnection, IrcReactor

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "TCP_QUICKACK"), reason="TCP_QUICKACK is Linux only"
)


class RecordingSocket:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[int, int, int]] = []
        self.fail = fail

    def setsockopt(self, level: int, option: int, value: int) -> None:
        self.calls.append((level, option, value))
        if self.fail:
            raise OSError("not a TCP socket")


def make_connection(sock: RecordingSocket) -> IrcConnection:
    conn = IrcReactor(asyncio.get_running_loop()).new_connection()
    conn.buffer = conn.buffer_class()
    conn._socket = sock
    return conn


async def test_every_read_is_acknowledged_at_once() -> None:
    sock = RecordingSocket()
    conn = make_connection(sock)
    conn.process_data(b":srv NOTICE * :hello\r\n")
    conn.process_data(b":srv NOTICE * :again\r\n")
    expected = (socket.IPPROTO_TCP, connection._TCP_QUICKACK, 1)
    assert sock.calls == [expected, expected]


async def test_a_socket_refusing_the_option_is_left_alone_after_the_first_try() -> None:
    sock = RecordingSocket(fail=True)
    conn = make_connection(sock)
    conn.process_data(b":srv NOTICE * :hello\r\n")
    conn.process_data(b":srv NOTICE * :again\r\n")
    assert len(sock.calls) == 1


async def test_a_real_connection_sets_it() -> None:
    server = await asyncio.start_server(lambda r, w: w.write(b"PING :x\r\n"), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    conn = IrcReactor(asyncio.get_running_loop()).new_connection()
    try:
        await conn.open("127.0.0.1", port, "gavel", None)
        assert conn._socket is not None
        conn.process_data(b":srv NOTICE * :hello\r\n")  # must not raise on a real socket
    finally:
        conn.abort()
        server.close()
        await server.wait_closed()
