"""The load generator of `bench.web`, as its own process: closed-loop clients on raw asyncio
streams, each one kept-alive HTTP/1.1 connection asking for the next URL as soon as the last
answer is in.

Raw streams rather than an HTTP client library so that the generator's own cost per request
is small: on a shared 2-core machine every cycle it spends is one the server under test and
the bot beside it do not get. It reads only what HTTP/1.1 answers with `Content-Length`
(which every page of `gavel web` has).

Run by `bench.web`: `python -m bench.webload BASE_URL SECONDS CLIENTS` with the URLs to
ask for as JSON `{kind: [path, ...]}` on stdin; prints `{kind: [seconds, ...]}`, the number
of non-200 answers, the elapsed time and its own CPU seconds as JSON on stdout.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import sys
import time
from urllib.parse import urlsplit

ACCEPT = (
    ""
    if __import__("os").environ.get("WEBLOAD_IDENTITY")
    else "Accept-Encoding: gzip, deflate, br\r\n"
)


async def _client(
    host: str,
    port: int,
    order: list[tuple[str, bytes]],
    deadline: float,
    timings: dict[str, list[float]],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for kind, request in itertools.cycle(order):
            if time.monotonic() >= deadline:
                break
            began = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            timings[kind].append(time.perf_counter() - began)
            if status != 200:
                errors[0] += 1
    finally:
        writer.close()


async def run(
    base: str, urls: dict[str, list[str]], seconds: float, clients: int
) -> tuple[dict[str, list[float]], int, float]:
    split = urlsplit(base)
    host, port = split.hostname or "127.0.0.1", split.port or 80
    requests = [
        (kind, f"GET {path} HTTP/1.1\r\nHost: {split.netloc}\r\n{ACCEPT}\r\n".encode())
        for kind, paths in urls.items()
        for path in paths
    ]
    timings: dict[str, list[float]] = {kind: [] for kind in urls}
    errors = [0]
    began = time.monotonic()
    deadline = began + seconds
    # Each client starts at a different place in the mix, so every kind is always in flight.
    orders = [requests[n % len(requests) :] + requests[: n % len(requests)] for n in range(clients)]
    await asyncio.gather(
        *(_client(host, port, order, deadline, timings, errors) for order in orders)
    )
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
