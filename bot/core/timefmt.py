"""Time rendering in a channel's time zone: C `asctime` style and log clock times.

Month and day names are spelled out here rather than taken from `strftime`, so the
replies never depend on the host's locale.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The time zone called `name` (cached; raises `ZoneInfoNotFoundError` if unknown)."""
    return ZoneInfo(name)


def local(moment: datetime, tz: tzinfo) -> datetime:
    """`moment` (aware) seen in `tz`."""
    return moment.astimezone(tz)


def asctime(moment: datetime, tz: tzinfo) -> str:
    """`Wed Jan  9 20:01:10 2013`: the day of month padded with a space to two places."""
    t = moment.astimezone(tz)
    return (
        f"{_DAYS[t.weekday()]} {_MONTHS[t.month - 1]} {t.day:2d} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} {t.year}"
    )


def zone_label(moment: datetime, tz: tzinfo) -> str:
    """The abbreviation in force at `moment`, e.g. `UTC`, `CET`, `CEST`."""
    return moment.astimezone(tz).tzname() or "UTC"


def clock(moment: datetime, tz: tzinfo) -> str:
    """`HH:MM:SS` of `moment` in `tz`."""
    t = moment.astimezone(tz)
    return f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}"


def parse_asctime(text: str) -> tuple[int, int, int, int, int, int] | None:
    """Parse `Wed Jan  9 20:01:10 2013` into (year, month, day, hour, minute, second)."""
    parts = text.split()
    if len(parts) != 5 or parts[1] not in _MONTHS:
        return None
    try:
        day = int(parts[2])
        hour, minute, second = (int(p) for p in parts[3].split(":"))
        year = int(parts[4])
    except ValueError:
        return None
    return (year, _MONTHS.index(parts[1]) + 1, day, hour, minute, second)
