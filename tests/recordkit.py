"""A `MeetingRecord` with plain defaults, for tests that need one and care about few fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.core.record import Chair, MeetingRecord

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


def blank_record(**fields: Any) -> MeetingRecord:
    """A running meeting with nothing recorded yet; `fields` override the defaults."""
    defaults: dict[str, Any] = {
        "id": 1,
        "network": "libera",
        "channel": "#heat",
        "name": "heat",
        "topic": None,
        "owner": "alice",
        "chairs": (Chair("alice"),),
        "timezone": "UTC",
        "start": T0,
        "end": None,
        "length_minutes": 60,
        "info_url": "",
        "bot_nick": "gavel",
        "casemapping": "rfc1459",
        "restricted": False,
        "lurking": False,
        "lines": (),
        "items": (),
        "votes": (),
        "named": (),
        "presence": (),
        "gaps": (),
    }
    return MeetingRecord(**{**defaults, **fields})
