"""Where a meeting's files go: the filename pattern, made safe, and the URLs that match.

Names from IRC (channel, meeting name) and the network name are sanitised before they
reach the pattern, so they can never add a directory, climb out with `..`, inject strftime
codes or exceed the 255-byte limit of a path component. Pure string work: this module must
not touch the filesystem (`publish` does, and re-checks containment after resolving links).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from bot.core.casemap import irc_lower
from bot.core.record import MeetingRecord
from bot.core.timefmt import zone

LOG_TEXT = ".log.txt"
LOG_HTML = ".log.html"
MINUTES_HTML = ".html"
MINUTES_TEXT = ".txt"
JSON = ".json"
EXTENSIONS = (LOG_TEXT, LOG_HTML, MINUTES_HTML, MINUTES_TEXT, JSON)

MAX_COMPONENT_BYTES = 255
# A substituted value is capped well below a component, so the date the pattern adds after
# it survives.
MAX_VALUE_BYTES = 100
_LONGEST_EXTENSION = max(len(ext) for ext in EXTENSIONS)
_SUFFIX_ROOM = 8  # "-" and up to seven digits of collision counter
MAX_BASE_NAME_BYTES = MAX_COMPONENT_BYTES - _LONGEST_EXTENSION - _SUFFIX_ROOM
_MAX_ATTEMPTS = 10_000

_PLACEHOLDER = re.compile(r"\{(channel|network|meetingname)\}")
_DOTS = re.compile(r"\.{2,}")


class UnsafePathError(ValueError):
    """The pattern would put files outside the output directory, or nowhere at all."""


def truncate_utf8(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8, never inside a character."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", "ignore")


def sanitise_value(value: str) -> str:
    """A value fit to stand in a path: no separators, control characters or `..`, never
    empty, at most `MAX_VALUE_BYTES`, with `%` doubled so strftime keeps it literal."""
    safe = "".join(c if c.isprintable() and c not in "/\\" else "_" for c in value)
    safe = truncate_utf8(safe, MAX_VALUE_BYTES)
    safe = _DOTS.sub(lambda m: "_" * len(m.group()), safe)
    if safe.startswith("."):
        safe = "_" + safe[1:]
    return (safe or "_").replace("%", "%%")


def pattern_problems(pattern: str) -> list[str]:
    """Why `pattern` cannot name meetings' files; empty when it can."""
    problems = []
    if "{meetingname}" not in pattern and "%M" not in pattern:
        problems.append("must contain {meetingname} or a time down to %M, or files collide")
    if pattern.startswith("/") or ".." in pattern.split("/"):
        problems.append("must be a relative path without '..'")
    return problems


def _channel_value(channel: str, casemapping: str) -> str:
    return irc_lower(channel[1:] if channel.startswith("#") else channel, casemapping)


def fill_pattern(pattern: str, values: dict[str, str]) -> str:
    """Substitute the placeholders in one pass, so a value is never read as a placeholder."""
    return _PLACEHOLDER.sub(lambda m: sanitise_value(values[m.group(1)]), pattern)


def _components(path: str) -> list[str]:
    if path.startswith("/"):
        raise UnsafePathError(f"output pattern gives an absolute path: {path!r}")
    parts = [truncate_utf8(p, MAX_COMPONENT_BYTES) for p in path.split("/")]
    parts = [p for p in parts if p not in ("", ".")]
    if not parts:
        raise UnsafePathError("output pattern gives an empty file name")
    if ".." in parts:
        raise UnsafePathError(f"output pattern climbs out of the output directory: {path!r}")
    parts[-1] = truncate_utf8(parts[-1], MAX_BASE_NAME_BYTES)
    return parts


def relative_base(record: MeetingRecord, pattern: str) -> str:
    """The files' path relative to the output directory, without extension.

    The pattern is filled with `{channel}` (without `#`, lower-cased), `{network}` and
    `{meetingname}`, then given to strftime with the start time in the meeting's zone.
    """
    filled = fill_pattern(
        pattern,
        {
            "channel": _channel_value(record.channel, record.casemapping),
            "network": record.network,
            "meetingname": record.name,
        },
    )
    try:
        expanded = record.start.astimezone(zone(record.timezone)).strftime(filled)
    except ValueError as error:
        raise UnsafePathError(f"output pattern cannot be expanded: {error}") from error
    return "/".join(_components(expanded))


def with_suffix(base: str, number: int) -> str:
    """`base` with `-number` appended to its last component, still within the byte limit."""
    head, slash, name = base.rpartition("/")
    suffix = f"-{number}"
    room = MAX_COMPONENT_BYTES - _LONGEST_EXTENSION - len(suffix)
    return f"{head}{slash}{truncate_utf8(name, room)}{suffix}"


def unique_base(base: str, taken: Callable[[str], bool]) -> str:
    """`base`, or the first of `base-2`, `base-3`, ... that `taken` says is free."""
    if not taken(base):
        return base
    for number in range(2, _MAX_ATTEMPTS):
        candidate = with_suffix(base, number)
        if not taken(candidate):
            return candidate
    raise UnsafePathError(f"no free file name near {base!r}")


def contained(root: Path, relative: str) -> Path:
    """`root/relative`, after checking lexically that it stays strictly inside `root`."""
    normal = os.path.normpath(relative)
    if os.path.isabs(normal) or normal in (".", "..") or normal.startswith("../"):
        raise UnsafePathError(f"{relative!r} is not inside the output directory {root}")
    return root / normal


def output_root(directory: Path, private_dir: Path | None, private: bool) -> Path:
    """The directory a meeting's files go under: the private one for private channels."""
    return private_dir if private and private_dir is not None else directory


def url_for(url_prefix: str, relative: str) -> str:
    """`url_prefix` + `relative`, the path percent-encoded (so `#` or spaces stay path)."""
    return url_prefix + quote(relative, safe="/")


def log_href(base: str) -> str:
    """The relative link from the minutes to the `.log.html` beside them."""
    return quote(base.rpartition("/")[2] + LOG_HTML, safe="")


def log_url(url_prefix: str, base: str) -> str:
    """The "full logs" link of the minutes: absolute with a prefix, else relative."""
    return url_for(url_prefix, base + LOG_HTML) if url_prefix else log_href(base)
