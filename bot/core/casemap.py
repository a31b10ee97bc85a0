"""IRC case mapping: how a network decides that two nicks or channel names are the same.

RFC 1459 (the default when the server does not say otherwise) treats `[]\\~` as the
upper-case forms of `{}|^`; `strict-rfc1459` leaves out `~`/`^`; `ascii` folds only A-Z.
"""

from __future__ import annotations

import functools

RFC1459 = "rfc1459"
STRICT_RFC1459 = "strict-rfc1459"
ASCII = "ascii"

_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = "abcdefghijklmnopqrstuvwxyz"

_TABLES = {
    ASCII: str.maketrans(_ASCII_UPPER, _ASCII_LOWER),
    STRICT_RFC1459: str.maketrans(_ASCII_UPPER + "[]\\", _ASCII_LOWER + "{}|"),
    RFC1459: str.maketrans(_ASCII_UPPER + "[]\\~", _ASCII_LOWER + "{}|^"),
}


def known(mapping: str) -> bool:
    """Whether `mapping` is one we fold exactly (others fall back to RFC 1459)."""
    return mapping.lower() in _TABLES


@functools.lru_cache(maxsize=4096)  # a few hundred nicks and channels fold over and over
def irc_lower(text: str, mapping: str = RFC1459) -> str:
    """Fold `text` to its canonical lower-case form under `mapping`."""
    table = _TABLES.get(mapping.lower(), _TABLES[RFC1459])
    return text.translate(table)


def same(a: str, b: str, mapping: str = RFC1459) -> bool:
    """Whether two nicks or channel names are equal under `mapping`."""
    return irc_lower(a, mapping) == irc_lower(b, mapping)
