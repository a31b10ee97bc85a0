"""The service's publisher: files go where the channel's configuration says."""

from __future__ import annotations

from pathlib import Path

from bot.app import Publisher
from bot.config_loader import parse_settings
from bot.core.effects import Effect, Publish
from bot.store import Store
from tests.corekit import Room


def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    return parse_settings(
        {
            "networks": [
                {
                    "name": "net",
                    "host": "127.0.0.1",
                    "channels": ["#open", {"name": "#secret", "private": True}],
                }
            ],
            "output": {"dir": str(tmp_path / "public"), "private_dir": str(tmp_path / "private")},
        }
    )


async def ended_meeting(store: Store, channel: str) -> Publish:
    room = Room(channel=channel)
    effects: list[Effect] = []
    effects += room.say("alice", "#startmeeting plans")
    effects += room.say("alice", "#endmeeting")
    await store.apply(effects)
    (publish,) = [e for e in effects if isinstance(e, Publish)]
    return publish


async def test_private_channels_publish_to_the_private_dir(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        publisher = Publisher(settings(tmp_path), store)
        secret = await publisher.write((await ended_meeting(store, "#secret")).meeting)
        public = await publisher.write((await ended_meeting(store, "#open")).meeting)
        assert all(p.is_relative_to(tmp_path / "private") for p in secret.paths)
        assert all(p.is_relative_to(tmp_path / "public") for p in public.paths)
        assert await store.pending_publishes() == []
