"""The meeting-name rules: what a typed name becomes in file names and replies.

Two archives' conventions: OpenStack's (`hyper-v` becomes `hyper_v`) and Fedora's, which
keeps hyphens and dots (`f36-blocker-review`), so a team keeps one series of files when it
moves to Gavel. The rule is chosen per channel (`output.meeting_names`).
"""

from __future__ import annotations

import re

MAX_NAME_LENGTH = 64
OPENSTACK = "openstack"
FEDORA = "fedora"
NAME_RULES = (OPENSTACK, FEDORA)

_OUTSIDE_ALLOWED = re.compile(r"[^a-z0-9]")
_OUTSIDE_FEDORA = re.compile(r"[^a-z0-9._-]")


def sanitise(text: str, rule: str = OPENSTACK) -> str:
    """The name `text` gives under `rule`, capped at 64 characters.

    Both rules lower-case and join runs of whitespace with `_`. OpenStack's then replaces
    anything outside a-z0-9 with `_`; Fedora's keeps `-`, `_` and `.` as well and drops
    everything else. Returns "" when nothing usable is left (see `meeting_name`).
    """
    joined = "_".join(text.lower().split())
    if rule == FEDORA:
        cleaned = _OUTSIDE_FEDORA.sub("", joined)[:MAX_NAME_LENGTH]
        return cleaned if cleaned.strip("_.-") else ""
    cleaned = _OUTSIDE_ALLOWED.sub("_", joined)[:MAX_NAME_LENGTH]
    return cleaned if cleaned.strip("_") else ""


def meeting_name(text: str, channel: str, rule: str = OPENSTACK) -> str:
    """The sanitised name, or the channel put through the same rule when nothing is left."""
    name = sanitise(text, rule)
    if name:
        return name
    fallback = sanitise(channel.lstrip("#&+!"), rule)
    return fallback or "meeting"
