"""The meeting-name rule: what a typed name becomes in file names and replies."""

from __future__ import annotations

import re

MAX_NAME_LENGTH = 64
_OUTSIDE_ALLOWED = re.compile(r"[^a-z0-9]")


def sanitise(text: str) -> str:
    """Lower-case, join words with `_`, replace anything outside a-z0-9 with `_`, cap at 64.

    Returns "" when nothing usable is left (see `meeting_name`).
    """
    joined = "_".join(text.lower().split())
    cleaned = _OUTSIDE_ALLOWED.sub("_", joined)[:MAX_NAME_LENGTH]
    return cleaned if cleaned.strip("_") else ""


def meeting_name(text: str, channel: str) -> str:
    """The sanitised name, or the channel put through the same rule when nothing is left."""
    name = sanitise(text)
    if name:
        return name
    fallback = sanitise(channel.lstrip("#&+!"))
    return fallback or "meeting"
