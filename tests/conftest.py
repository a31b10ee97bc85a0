"""Shared pytest fixtures. Keep each one small; add yours below.

`archive` and `client` are the web archive's: the test archive of `tests/webkit.py` (built
once per module that asks for it; a module with an `archive` of its own uses its own) and
an aiohttp test client of `gavel web`'s application over it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.web.app import make_app
from bot.web.views import open_reader
from tests.ircserver import Ngircd
from tests.webkit import Archive, build_archive


@pytest.fixture
def ircd(tmp_path: Path) -> Iterator[Ngircd]:
    """A real ngircd on a free 127.0.0.1 port, stopped (by pid) after the test."""
    server = Ngircd(tmp_path / "ngircd")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    return asyncio.run(build_archive(tmp_path_factory.mktemp("archive")))


@pytest.fixture
async def client(archive: Archive) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    reader = await open_reader(archive.settings)
    async with TestClient(TestServer(make_app(archive.settings, reader))) as test_client:
        yield test_client
    await reader.close()
