"""IRC text made fit for display: formatting codes stripped, unsafe characters removed.

IRC lines carry mIRC formatting codes and may carry any control, bidi or non-character
code point; `.log.txt` keeps them verbatim, but HTML must not (they are parse errors there,
and bidi overrides could reorder the markup around them). This module only transforms
strings; it must not escape HTML (that is `htmlsafe`'s job) or do any I/O.
"""

from __future__ import annotations

import re

# \x03 colour takes up to two digits and an optional ",background"; \x04 is the hex-colour
# extension with six hex digits each.
_FORMAT_CODES = (
    r"\x03(?:[0-9]{1,2}(?:,[0-9]{1,2})?)?"
    r"|\x04(?:[0-9A-Fa-f]{6}(?:,[0-9A-Fa-f]{6})?)?"
    r"|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)
_FORMAT = re.compile(_FORMAT_CODES)

_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_LINE_BREAKS = "\n\r\x0b\x0c\x85\u2028\u2029"
_NONCHARACTERS = "\ufdd0-\ufdef\ufffe\uffff" + "".join(
    f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(1, 17)
)
_CONTROLS = "\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f"
_SURROGATES = "\ud800-\udfff"

_UNSAFE = re.compile(
    f"{_FORMAT_CODES}"
    f"|(?P<bidi>[{_BIDI_CONTROLS}{_CONTROLS}])"
    f"|(?P<brk>[{_LINE_BREAKS}])"
    f"|(?P<bad>[{_NONCHARACTERS}{_SURROGATES}])"
)


def _replace_unsafe(match: re.Match[str]) -> str:
    if match.lastgroup == "brk":
        return " "
    if match.lastgroup == "bad":
        return "\ufffd"
    return ""


def strip_formatting(text: str) -> str:
    """`text` without IRC bold/colour/italic/... codes; everything else kept."""
    # Every formatting code is a control character, so printable text needs no regex.
    if text.isprintable():
        return text
    return _FORMAT.sub("", text)


def displayable(text: str) -> str:
    """`text` with formatting codes, control and bidi-override characters removed,
    line breaks turned into spaces and non-characters replaced by U+FFFD: safe to put in
    HTML (after escaping) and unable to reorder the text around it."""
    if text.isprintable():
        return text
    return _UNSAFE.sub(_replace_unsafe, text)
