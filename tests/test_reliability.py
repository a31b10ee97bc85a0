"""The reliability scenarios of `bench/reliability/`, short profile, as part of the suite;
and the tooling they stand on: the fault proxy and the accounting of lines.

Every scenario module found (`s<N>_*.py`) runs once with `Profile(full=False)`; its
figures are printed and every "must be 0" / "must be yes" figure must hold. `make soak`
runs the same scenarios with the full counts.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bench.reliability import Profile
from bench.reliability._runner import load, run_scenario, scenario_names, table
from tests.faultproxy import FaultProxy
from tests.talkers import GapSpan, Recorded, account, line_number, line_text, talker_line


@pytest.mark.parametrize("name", scenario_names())
async def test_scenario_short_profile(name: str) -> None:
    outcome = await run_scenario(load(name), Profile(full=False))
    result = outcome.result
    print("\n" + "\n".join(table([outcome])))
    for note in result.notes:
        print(f"note: {note}")
    skipped = [n for n in result.notes if n.startswith("skipped:")]
    if skipped and not result.figures:
        pytest.skip(skipped[0])
    assert result.ok, f"{name}: {result.failures}; notes: {result.notes}"


# -- the accounting ----------------------------------------------------------------------


def _k(n: int, nick: str = "t0") -> str:
    return f"<{nick}> {line_text(nick, n)}"


def test_talker_lines_are_numbered_and_padded() -> None:
    assert line_text("t3", 42) == "t3 line 0042"
    assert line_number(line_text("t3", 42, padding=10)) == 42
    assert len(line_text("t1", 7, padding=10)) == len("t1 line 0007") + 10
    assert line_number("t3 said 0042") is None


def test_missing_lines_are_declared_only_where_a_gap_was_recorded() -> None:
    observed = ["<alice> #startmeeting x", *(_k(n) for n in range(8)), "<alice> #endmeeting"]
    times = {_k(n): f"t{n:02d}" for n in range(8)}
    kept = [0, 1, 2, 5, 7]  # 3 and 4 lost around a gap, 6 lost without one
    recorded = [Recorded("<alice> #startmeeting x", "s")]
    recorded += [Recorded(_k(n), times[_k(n)]) for n in kept]
    recorded += [Recorded(_k(7), times[_k(7)]), Recorded("<alice> #endmeeting", "u")]
    acc = account(observed, recorded, [GapSpan("t02", "t04")], only=talker_line)
    assert acc.numbers(acc.in_gaps) == [3, 4]
    assert acc.numbers(acc.silently_lost) == [6]
    assert acc.numbers(acc.duplicates) == [7]
    assert acc.out_of_order == 0
    swapped = [recorded[0], recorded[2], recorded[1], *recorded[3:]]
    assert account(observed, swapped, only=talker_line).out_of_order == 1


# -- the fault proxy ---------------------------------------------------------------------


async def _echo_server() -> tuple[asyncio.Server, list[asyncio.StreamWriter]]:
    writers: list[asyncio.StreamWriter] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(1024):
                writer.write(data)
                await writer.drain()
        writer.close()

    return await asyncio.start_server(echo, "127.0.0.1", 0), writers


async def test_fault_proxy_passes_then_breaks_connections_on_command() -> None:
    server, server_side = await _echo_server()
    proxy = await FaultProxy(int(server.sockets[0].getsockname()[1])).start()
    try:
        async with asyncio.timeout(10):
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(b"hello\n")
            assert await reader.readline() == b"hello\n"

            assert proxy.slow_drip(chunk=2, interval=0.01) == 1
            writer.write(b"slowly\n")
            assert await reader.readline() == b"slowly\n"  # cut in pieces, all there
            proxy.heal()

            assert proxy.blackhole() == 1
            writer.write(b"anyone?\n")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(reader.readline(), 0.3)
            writer.close()  # the client gives up: the server side is closed too
            while not server_side[0].is_closing():
                await asyncio.sleep(0.01)

            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(b"again\n")
            assert await reader.readline() == b"again\n"  # new connections pass
            assert proxy.half_open() == 1
            while not server_side[1].is_closing():  # the server saw the client leave
                await asyncio.sleep(0.01)
            writer.write(b"still there?\n")
            with pytest.raises(TimeoutError):  # ... while the client hears nothing
                await asyncio.wait_for(reader.readline(), 0.3)
            writer.close()

            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(b"last\n")
            assert await reader.readline() == b"last\n"
            assert proxy.reset() == 1
            with pytest.raises(ConnectionResetError):
                await reader.read(100)
            writer.close()
    finally:
        await proxy.close()
        server.close()
