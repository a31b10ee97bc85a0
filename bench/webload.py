"""The load generator of `bench.web`, as its own process: closed-loop clients on raw asyncio
connections, each one kept-alive HTTP/1.1 connection asking for the next URL as soon as the
last answer is in.

Raw protocol callbacks rather than an HTTP client library so that the generator's own cost
per request is small: on a shared 2-core machine every cycle it spends is one the server
under test and the bot beside it do not get. Each asks for gzip, as every browser does. It
reads only answers with a `Content-Length` (which every page of `gavel web` has).

Run by `bench.web`: `python -m bench.webload BASE_URL SECONDS CLIENTS` with the URLs to
ask for as JSON `{kind: [path, ...]}` on stdin; prints `{kind: [seconds, ...]}`, the number
of non-200 answers, the elapsed time and its own CPU seconds as JSON on stdout.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import resource
import sys
import time
from urllib.parse import urlsplit

ACCEPT = "Accept-Encoding: gzip, deflate, br\r\n"  # as every browser says
GRACE_SECONDS = 30.0  # past the run's end, a client still waiting for an answer has stalled


class _Client(asyncio.Protocol):
    """One visitor: a kept-alive connection, the next request sent in the same callback that
    reads the last answer (no task or future per request: the generator's cost stays low)."""

    def __init__(
        self,
        order: list[tuple[str, bytes]],
        deadline: float,
        timings: dict[str, list[float]],
        errors: list[int],
        done: asyncio.Future[None],
    ) -> None:
        self.order = itertools.cycle(order)
        self.deadline = deadline
        self.timings = timings
        self.errors = errors
        self.done = done
        self.buffer = b""
        self.kind = ""
        self.began = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._next()

    def _next(self) -> None:
        assert self.transport is not None
        if time.monotonic() >= self.deadline:
            self.transport.close()
            return
        self.kind, request = next(self.order)
        self.began = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end]
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if len(self.buffer) < end + 4 + length:
            return
        self.timings[self.kind].append(time.perf_counter() - self.began)
        if head[9:12] != b"200":
            self.errors[0] += 1
        self.buffer = self.buffer[end + 4 + length :]
        self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def run(
    base: str, urls: dict[str, list[str]], seconds: float, clients: int
) -> tuple[dict[str, list[float]], int, float]:
    split = urlsplit(base)
    host, port = split.hostname or "127.0.0.1", split.port or 80
    requests = {
        kind: [
            f"GET {path} HTTP/1.1\r\nHost: {split.netloc}\r\n{ACCEPT}\r\n".encode()
            for path in paths
        ]
        for kind, paths in urls.items()
    }
    timings: dict[str, list[float]] = {kind: [] for kind in urls}
    errors = [0]
    began = time.monotonic()
    deadline = began + seconds
    # Every kind once a round, whatever number of URLs it has (a kind with several, as the
    # search mix, goes through them in turn); each client starts at a different place in
    # the mix, so every kind is always in flight.
    kinds = list(requests)
    rounds = max(len(r) for r in requests.values())
    orders = []
    for n in range(clients):
        turn = kinds[n % len(kinds) :] + kinds[: n % len(kinds)]
        orders.append(
            [
                (kind, requests[kind][(r + n) % len(requests[kind])])
                for r in range(rounds)
                for kind in turn
            ]
        )
    loop = asyncio.get_running_loop()
    finished = []
    for order in orders:
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(
            functools.partial(_Client, order, deadline, timings, errors, done), host, port
        )
        finished.append(done)
    # A server that stops answering (but keeps the connections open) ends the run here,
    # with TimeoutError, instead of holding the clients for ever.
    await asyncio.wait_for(asyncio.gather(*finished), seconds + GRACE_SECONDS)
    return timings, errors[0], time.monotonic() - began


def main() -> None:
    base, seconds, clients = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    urls = json.loads(sys.stdin.read())
    timings, errors, elapsed = asyncio.run(run(base, urls, seconds, clients))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    json.dump({"timings": timings, "errors": errors, "elapsed": elapsed, "cpu": cpu}, sys.stdout)


if __name__ == "__main__":
    main()
