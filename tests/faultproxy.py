"""A TCP proxy on 127.0.0.1 that breaks connections on command, for fault-injection tests.

The bot connects to the proxy instead of the server; each accepted connection gets its own
upstream connection (a `Link`). The test switches the links that exist *now* into a fault
mode, while connections made afterwards pass normally, so a bot that reconnects recovers:

- `reset()`: both sides get a TCP RST (SO_LINGER 0), as when a middlebox drops state;
- `blackhole()`: nothing is forwarded either way and nobody is told: the connection goes
  silent, as when a route disappears (the bot must notice by itself);
- `half_open()`: the server side is closed (the server sees the client leave), while the
  client side stays open, hearing nothing and its writes going nowhere: the bot believes
  it is connected to a server that has forgotten it;
- `slow_drip(chunk, interval)`: server-to-client data arrives `chunk` bytes at a time,
  every `interval` seconds (lines cut anywhere, but nothing lost);
- `heal()`: slow links forward at full speed again (silent links stay silent).

When the client closes a link in any mode, its upstream is closed too, so the server sees
the old connection leave once the bot gives up on it (no ghost is left behind).

Only loopback traffic; every wait is bounded; `close()` ends every task the proxy started.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Literal

HOST = "127.0.0.1"
READ_SIZE = 65536

Mode = Literal["pass", "blackhole", "half-open", "slow-drip", "closed"]


@dataclass
class Link:
    """One client connection and its upstream."""

    number: int
    client_reader: asyncio.StreamReader
    client_writer: asyncio.StreamWriter
    upstream_reader: asyncio.StreamReader
    upstream_writer: asyncio.StreamWriter
    opened: float = field(default_factory=time.monotonic)
    mode: Mode = "pass"
    drip_chunk: int = 1
    drip_interval: float = 0.01
    to_client: int = 0  # bytes forwarded
    to_server: int = 0
    closed_at: float | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return self.mode != "closed"


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset instead of a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """`await FaultProxy(upstream_port).start()`; connect to `proxy.port`."""

    def __init__(self, upstream_port: int, upstream_host: str = HOST) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.port = 0
        self.links: list[Link] = []
        self.refused = 0  # client connections for which the upstream could not be reached
        self._server: asyncio.Server | None = None
        self._count = 0

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, HOST, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    # -- faults --------------------------------------------------------------------

    def live(self) -> list[Link]:
        """Links that are open and forwarding (pass or slow), oldest first."""
        return [link for link in self.links if link.mode in ("pass", "slow-drip")]

    def reset(self) -> int:
        """RST both sides of every open link; returns how many were reset."""
        links = [link for link in self.links if link.alive]
        for link in links:
            _rst(link.client_writer)
            _rst(link.upstream_writer)
            self._closed(link)
        return len(links)

    def blackhole(self) -> int:
        """Silence every live link in both directions; returns how many."""
        links = self.live()
        for link in links:
            link.mode = "blackhole"
        return len(links)

    def half_open(self) -> int:
        """Close the server side of every live link and silence the client side."""
        links = self.live()
        for link in links:
            link.mode = "half-open"
            link.upstream_writer.close()
        return len(links)

    def slow_drip(self, chunk: int = 1, interval: float = 0.01) -> int:
        """Deliver server data to the client `chunk` bytes every `interval` seconds."""
        links = self.live()
        for link in links:
            link.mode = "slow-drip"
            link.drip_chunk = max(1, chunk)
            link.drip_interval = max(0.0, interval)
        return len(links)

    def heal(self) -> int:
        """Slow links go back to full speed."""
        links = [link for link in self.links if link.mode == "slow-drip"]
        for link in links:
            link.mode = "pass"
        return len(links)

    # -- forwarding -----------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(self.upstream_host, self.upstream_port), 5.0
            )
        except (OSError, TimeoutError):
            self.refused += 1
            _rst(writer)
            return
        self._count += 1
        link = Link(self._count, reader, writer, up_reader, up_writer)
        self.links.append(link)
        link.tasks = [
            asyncio.create_task(self._pump(link, to_client=False)),
            asyncio.create_task(self._pump(link, to_client=True)),
        ]

    async def _pump(self, link: Link, *, to_client: bool) -> None:
        reader = link.upstream_reader if to_client else link.client_reader
        writer = link.client_writer if to_client else link.upstream_writer
        try:
            while link.alive:
                data = await reader.read(READ_SIZE)
                if not data:
                    break
                await self._forward(link, writer, data, to_client=to_client)
        except (ConnectionError, OSError):
            pass
        finally:
            self._end(link, from_client=not to_client)

    async def _forward(
        self, link: Link, writer: asyncio.StreamWriter, data: bytes, *, to_client: bool
    ) -> None:
        if link.mode in ("blackhole", "half-open", "closed"):
            return  # dropped on the floor: nobody hears anything
        if to_client and link.mode == "slow-drip":
            for start in range(0, len(data), link.drip_chunk):
                if link.mode != "slow-drip":
                    if link.mode == "pass":
                        writer.write(data[start:])
                        link.to_client += len(data) - start
                    return
                writer.write(data[start : start + link.drip_chunk])
                await writer.drain()
                link.to_client += min(link.drip_chunk, len(data) - start)
                await asyncio.sleep(link.drip_interval)
            return
        writer.write(data)
        await writer.drain()
        if to_client:
            link.to_client += len(data)
        else:
            link.to_server += len(data)

    def _end(self, link: Link, *, from_client: bool) -> None:
        """One side closed. The server leaving a silent link is not passed on (the client
        must find out by itself); the client leaving always closes the upstream."""
        if not link.alive:
            return
        if not from_client and link.mode in ("blackhole", "half-open"):
            return
        link.client_writer.close()
        link.upstream_writer.close()
        self._closed(link)

    def _closed(self, link: Link) -> None:
        link.mode = "closed"
        link.closed_at = time.monotonic()
        current = asyncio.current_task()
        for task in link.tasks:
            if task is not current:
                task.cancel()

    async def close(self) -> None:
        """Stop listening and close every link (bounded)."""
        if self._server is not None:
            self._server.close()
        for link in self.links:
            if link.alive:
                link.client_writer.close()
                link.upstream_writer.close()
                self._closed(link)
        tasks = [task for link in self.links for task in link.tasks]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
