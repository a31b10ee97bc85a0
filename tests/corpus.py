"""The hostile corpus, `tests/hostile_corpus.txt`, as the raw bytes of its messages.

One line per message; lines starting `;; ` are section notes. Escapes: `\\xNN` is a raw
byte (so invalid UTF-8 can be written), `\\uNNNN` and `\\UNNNNNNNN` a character (as
UTF-8), `\\t` `\\n` `\\r` those characters, `\\\\` a backslash. Read by the writers' tests
and by the hostile-input reliability scenario.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

CORPUS = Path(__file__).parent / "hostile_corpus.txt"
_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[tnr\\])")
_SIMPLE = {b"t": b"\t", b"n": b"\n", b"r": b"\r", b"\\": b"\\"}


def _unescape(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    if code[:1] == b"x":
        return bytes([int(code[1:], 16)])
    if code[:1] in (b"u", b"U"):
        return chr(int(code[1:], 16)).encode("utf-8", "surrogatepass")
    return _SIMPLE[code]


@functools.cache
def corpus_lines() -> tuple[bytes, ...]:
    """Every message of the corpus, unescaped, in file order."""
    return tuple(
        _ESCAPE.sub(_unescape, raw)
        for raw in CORPUS.read_bytes().split(b"\n")[:-1]
        if not raw.startswith(b";; ")
    )
