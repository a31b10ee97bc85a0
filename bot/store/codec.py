"""Conversions between Python values and the text stored in SQLite columns.

Datetimes are stored as ISO 8601 UTC text with microseconds (fixed width, so text order is time
order); vote options and ballots as JSON; a quarantined effect as JSON. This module is pure:
no I/O, no SQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from typing import Any

from bot.core.record import Ballot
from bot.store.errors import StoreError

_SECONDS: dict[tuple[int, int, int, int, int, int], str] = {}  # UTC second -> its text
_SECONDS_KEPT = 4096  # many lines share a second; the cache starts again when this full


def dt_to_text(value: datetime) -> str:
    """Aware datetime -> `2024-05-01T12:00:00.000000+00:00`. Naive datetimes are refused
    because their instant is unknown."""
    if value.tzinfo is not UTC:  # lines stamped by the server are in UTC already
        if value.tzinfo is None or value.utcoffset() is None:
            raise StoreError(f"naive datetime {value!r} cannot be stored; give it a time zone")
        value = value.astimezone(UTC)
    # Every recorded line is stored with its time: the text of each second is made once
    # (isoformat is the costlier part), then the microseconds are put in.
    key = (value.year, value.month, value.day, value.hour, value.minute, value.second)
    second = _SECONDS.get(key)
    if second is None:
        if len(_SECONDS) >= _SECONDS_KEPT:
            _SECONDS.clear()
        second = _SECONDS[key] = value.replace(microsecond=0).isoformat()[:19]
    return f"{second}.{value.microsecond:06d}+00:00"


def opt_dt_to_text(value: datetime | None) -> str | None:
    return None if value is None else dt_to_text(value)


def text_to_dt(text: str) -> datetime:
    """Stored text -> aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"bad stored datetime {text!r}") from exc
    if parsed.tzinfo is None:
        raise StoreError(f"stored datetime {text!r} has no time zone")
    return parsed.astimezone(UTC)


def opt_text_to_dt(text: str | None) -> datetime | None:
    return None if text is None else text_to_dt(text)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def options_to_json(options: tuple[str, ...]) -> str:
    return _dumps(list(options))


def json_to_options(text: str) -> tuple[str, ...]:
    value = _loads(text, "vote options")
    if not isinstance(value, list) or not all(isinstance(o, str) for o in value):
        raise StoreError(f"stored vote options are not a list of strings: {text!r}")
    return tuple(value)


def ballots_to_json(ballots: tuple[Ballot, ...]) -> str:
    return _dumps([{"nick": b.nick, "option": b.option, "account": b.account} for b in ballots])


def json_to_ballots(text: str) -> tuple[Ballot, ...]:
    value = _loads(text, "vote ballots")
    if not isinstance(value, list):
        raise StoreError(f"stored vote ballots are not a list: {text!r}")
    return tuple(_ballot(entry, text) for entry in value)


def _ballot(entry: object, text: str) -> Ballot:
    if not isinstance(entry, dict):
        raise StoreError(f"stored ballot is not an object: {text!r}")
    nick, option, account = entry.get("nick"), entry.get("option"), entry.get("account")
    if not isinstance(nick, str) or not isinstance(option, str):
        raise StoreError(f"stored ballot lacks nick or option: {text!r}")
    if account is not None and not isinstance(account, str):
        raise StoreError(f"stored ballot has a bad account: {text!r}")
    return Ballot(nick=nick, option=option, account=account)


def _loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"stored {what} are not valid JSON: {text!r}") from exc


def effect_to_json(effect: object) -> str:
    """The whole of an effect as JSON text, for the quarantine: every field, nested records
    and lines included, named by type. Never raises on the values a bad effect may hold
    (a naive datetime, a lone surrogate): it must describe what the database refused."""
    return json.dumps(_plain(effect), ensure_ascii=True, separators=(",", ":"))


def _plain(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        fields_ = {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
        return {"type": type(value).__name__, **fields_}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Iterable):  # tuples, lists and a meeting's LineLog
        return [_plain(v) for v in value]
    return repr(value)
