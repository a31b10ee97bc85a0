"""Shared pytest fixtures. Keep each one small; add yours below."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ircserver import Ngircd


@pytest.fixture
def ircd(tmp_path: Path) -> Iterator[Ngircd]:
    """A real ngircd on a free 127.0.0.1 port, stopped (by pid) after the test."""
    server = Ngircd(tmp_path / "ngircd")
    server.start()
    try:
        yield server
    finally:
        server.stop()
