"""Hostile input for scenario 6, and the checks of what the bot made of it.

- `corpus()`: `tests/hostile_corpus.txt` as raw bytes (invalid UTF-8 kept), plus the
  cases the reliability requirements name that the corpus lacks (`\\x10r`, cp1252 text,
  path-like names).
- `raw_lines()`: a Hypothesis strategy of whole server lines as bytes: IRCv3 tags up to
  8 KiB (hostile `time`/`account` values among them), leading spaces, odd prefixes and
  commands, path-like channels, command words in any case, arguments mixing invalid
  UTF-8, cp1252, control and bidi characters, `\\x10r`, lone CRs and 510-byte lines.
  `generate(count)` draws them with a fixed seed.
- `html_findings(page)`: what must never be in a page: parse errors, script elements,
  `on*` attributes, links with other schemes, elements or attributes the writers never
  make (so unescaped user markup shows up as one of them).
- `outside(root, allowed, files)`: files written anywhere but the output directory.
"""

from __future__ import annotations

import functools
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import html5lib
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.writers.htmlsafe import LINK_SCHEMES
from tests.corpus import corpus_lines

MAX_CLIENT_LINE = 510  # what a client may send, without CR LF (ngircd closes on more)

EXTRA = [
    b"dle \x10r quoted cr \x10n quoted lf \x10\x10 and \x100 nul",
    b"\x10rPRIVMSG #openstack-meeting :injected",
    b"#topic a\x10rQUIT :injected",
    b"caf\xe9 \x93smart quotes\x94 \x96 dash \x80 euro",
    b"#info cp1252 \x93quoted\x94 na\xefve",
    b"#startmeeting ../../../../tmp/gavel-escape",
    b"#meetingname ../../etc/cron.d/gavel",
    b"#meetingname /etc/passwd",
    b"#meetingname ..",
    b"#meetingname %Y%m%d{channel}{network}",
    b"#meetingname C:\\Windows\\System32",
    b"#meetingname \xe2\x80\xae" + "ʇxǝʇ".encode(),
    b"#topic \xe2\x80\xaeevil\xe2\x80\xac <script>alert(1)</script>",
    b"#link javascript:alert(document.domain)",
    b"#startvote <script>x</script>? <b>a</b>, \x00b",
    b"#vote <img src=x onerror=alert(1)>",
    b"#chair <script> \xff\xfe",
]

PATH_CHANNELS = (
    "#..",
    "#../../escape",
    "#a/b",
    "#%Y%m",
    "#{meetingname}",
    "#a\\b",
    "#.",
)


@functools.cache
def _cases() -> tuple[bytes, ...]:
    return (*corpus_lines(), *EXTRA)


def corpus() -> list[bytes]:
    """Every corpus line as the raw bytes someone would send, then the extra cases."""
    return list(_cases())


def client_line(target: str, text: bytes, action: bool = False) -> bytes:
    """A PRIVMSG a client sends (CR LF added), cut to what a client may send. NUL is
    left out: no client can send it, and ngircd stops reading a connection that does
    (the scripted server sends NUL to the bot instead)."""
    text = text.replace(b"\x00", b"")
    if action:
        text = b"\x01ACTION " + text + b"\x01"
    line = f"PRIVMSG {target} :".encode() + text
    return line[:MAX_CLIENT_LINE] + b"\r\n"


# -- generated server lines ----------------------------------------------------------

BOT = "meetbot"
CHANNELS = ("#c", "#C", *PATH_CHANNELS, "#\xe9t\xe9", "#x\u202ey", "#" + "w" * 300, "&local")
NICKS = ("alice", "alice", "alice", "bob", "carol", "[dev]", "a\\b", "x^y", "<b>n</b>", "e\u202ev")
WORDS = (
    "startmeeting",
    "endmeeting",
    "topic",
    "meetingtopic",
    "meetingname",
    "info",
    "action",
    "idea",
    "agreed",
    "link",
    "chair",
    "unchair",
    "undo",
    "save",
    "startvote",
    "vote",
    "showvote",
    "endvote",
    "restrictlogs",
    "lurk",
    "unlurk",
    "nick",
    "commands",
    "startmeetingfoo",
)
FRAGMENTS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "http://example.org/\"onclick='x'",
    "../../../",
    "/etc/passwd",
    "%s%n%Y{channel}",
    "\u202e\u2066\u2067\u2068\u2069\u200f",
    "\x02\x03\x0304,12\x0f\x16\x1d\x1f",
    "\x01ACTION x\x01",
    "\x10r\x10n\x10\x10",
    "\r",
    "\x00",
    "&amp;&lt;&#0;",
    "\ufeff\ufffe\U0010ffff",
)
TIMES = (
    "2013-01-09T20:01:10.000Z",
    "0001-01-01T00:00:00.000Z",
    "9999-12-31T23:59:59.999Z",
    "1970-01-01T00:00:00Z",
    "2026-13-45T99:99:99Z",
    "2026-01-01T00:00:00+23:59",
    "not-a-time",
    "",
)


def _one_in(n: int) -> st.SearchStrategy[bool]:
    """True about once in `n` draws (Hypothesis favours small integers; this does not)."""
    return st.sampled_from(range(n)).map(lambda i: i == n - 1)


_text_chars = st.characters(codec="utf-8") | st.sampled_from(
    list("\x00\x01\x02\x03\x0f\x10\x16\x1d\x1f\x7f\x85\u200e\u200f\u202a\u202e\u2066\u2069\ufeff")
)


@st.composite
def _argument(draw: st.DrawFn) -> bytes:
    """Text after the command word: a mix of encodings, markup, controls and sizes."""
    parts: list[bytes] = []
    for _ in range(draw(st.sampled_from(range(5)))):
        kind = draw(st.sampled_from(range(6)))
        if kind == 0:
            parts.append(draw(st.binary(max_size=24)))
        elif kind == 1:
            parts.append(draw(st.text(_text_chars, max_size=24)).encode("utf-8", "surrogatepass"))
        elif kind == 2:
            text = draw(st.text(st.characters(max_codepoint=0xFF), max_size=24))
            parts.append(text.encode("cp1252", "replace"))
        elif kind == 3:
            parts.append(draw(st.sampled_from(FRAGMENTS)).encode("utf-8", "surrogatepass"))
        elif kind == 4:
            unit = draw(st.sampled_from([b"a", b"\xc3\xa4", b"\xf0\x9f\x9a\x80", b"\xff", b"<"]))
            parts.append(unit * draw(st.sampled_from((100, 127, 255, 510, 520))))
        else:
            parts.append(draw(st.sampled_from(_cases())))
    return b" ".join(parts)


def _case(draw: st.DrawFn, word: str) -> str:
    style = draw(st.sampled_from(range(4)))
    if style == 1:
        return word.upper()
    if style == 2:
        return word.title()
    if style == 3:
        return "".join(c.upper() if i % 2 else c for i, c in enumerate(word))
    return word


@st.composite
def _message(draw: st.DrawFn) -> bytes:
    lead = b" \t" if draw(st.booleans()) and draw(st.booleans()) else b""
    if draw(st.sampled_from(range(3))):
        word = _case(draw, draw(st.sampled_from(WORDS)))
        return lead + f"#{word} ".encode() + draw(_argument())
    if draw(st.booleans()):
        return b"\x01ACTION " + draw(_argument()) + b"\x01"
    return lead + draw(_argument())


@st.composite
def _tags(draw: st.DrawFn) -> bytes:
    tags = []
    if draw(st.booleans()):
        tags.append(b"time=" + draw(st.sampled_from(TIMES)).encode())
    if draw(st.booleans()):
        account = draw(st.sampled_from(["alice", "*", "", "b\\sob", "x;y=z", "\xe9"]))
        tags.append(b"account=" + account.encode())
    if draw(st.booleans()):
        tags.append(draw(st.binary(max_size=16)).replace(b" ", b"_"))
    if draw(_one_in(40)):
        tags.append(b"+big=" + b"\\s" * draw(st.integers(2000, 4100)))  # up to ~8 KiB
    return b"@" + b";".join(tags) + b" " if tags else b""


@st.composite
def raw_line(draw: st.DrawFn) -> bytes:
    """One line from a hostile server, CR LF (or a worse ending) included."""
    tags = draw(_tags())
    lead = b" " * draw(st.sampled_from([0, 0, 0, 1, 3]))
    nick = draw(st.sampled_from(NICKS))
    prefix = f":{nick}!~{nick}@h.test ".encode("utf-8", "surrogatepass")
    channel = draw(st.sampled_from(CHANNELS)).encode("utf-8", "surrogatepass")
    kind = draw(st.sampled_from(range(20)))
    if kind < 12:
        body = prefix + b"PRIVMSG " + channel + b" :" + draw(_message())
    elif kind == 12:
        body = prefix + b"NOTICE " + channel + b" :" + draw(_argument())
    elif kind == 13:
        body = prefix + b"JOIN " + channel + b" " + draw(st.sampled_from([b"*", b"acct", b""]))
    elif kind == 14:
        body = prefix + draw(st.sampled_from([b"PART ", b"QUIT :", b"TOPIC "])) + channel
    elif kind == 15:
        new = draw(st.sampled_from([b"alice", b"bob", b"Alice", b":", b"", b"\xff"]))
        body = prefix + b"NICK :" + new
    elif kind == 16:
        mode = draw(
            st.sampled_from([b"+o alice", b"-o alice", b"+ov", b"+k", b"+o " + BOT.encode()])
        )
        body = prefix + b"MODE " + channel + b" " + mode
    elif kind == 17:
        body = b":fake 353 meetbot = " + channel + b" :@alice +bob " + draw(_argument())
    elif kind == 18:
        body = b":fake 005 meetbot " + draw(
            st.sampled_from([b"CASEMAPPING=ascii", b"CASEMAPPING=\xff", b"PREFIX=(", b"CHANMODES="])
        )
    else:
        body = draw(st.binary(max_size=40))
    if draw(_one_in(10)):
        body = body.replace(b" :", b" :\r", 1)  # a lone CR inside
    if draw(_one_in(10)):
        body = (body + b" " + b"x" * 512)[:MAX_CLIENT_LINE]  # exactly 510 bytes
    end = draw(st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r\r\n"]))
    return tags + lead + body + end


def generate(count: int, per_example: int = 10) -> list[bytes]:
    """`count` raw lines drawn by Hypothesis, the same ones on every run."""
    lines: list[bytes] = []

    @settings(
        max_examples=math.ceil(count / per_example),
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(raw_line(), min_size=per_example, max_size=per_example))
    def collect(chunk: list[bytes]) -> None:
        lines.extend(chunk)

    collect()
    return lines[:count]


# -- checks --------------------------------------------------------------------------

ELEMENTS = frozenset(
    {"html", "head", "meta", "title", "style", "body", "pre", "a", "span", "h1", "h3"}
    | {"p", "ol", "li", "b", "i"}
)
ATTRIBUTES = frozenset({"href", "id", "class", "lang", "charset", "name", "content", "type"})
# The static index pages come from the web archive's templates, which use more of HTML.
INDEX_ELEMENTS = (
    ELEMENTS
    | {"header", "main", "footer", "form", "input", "button", "small"}
    | {"h2", "ul", "table", "thead", "tbody", "tr", "th", "td", "time"}
)
INDEX_ATTRIBUTES = ATTRIBUTES | {
    "role",
    "method",
    "action",
    "value",
    "placeholder",
    "aria-label",
    "maxlength",
    "datetime",
}
_STRIPPED = re.compile(r"[\x00-\x20\x7f]")


def _href_safe(href: str) -> bool:
    scheme = urlsplit(_STRIPPED.sub("", href)).scheme.lower()
    return scheme == "" or scheme in LINK_SCHEMES


def html_findings(page: str, *, index: bool = False) -> dict[str, int]:
    """Counts of what must never be in one of the bot's pages (`index`: a static index)."""
    elements = INDEX_ELEMENTS if index else ELEMENTS
    attributes = INDEX_ATTRIBUTES if index else ATTRIBUTES
    found = dict.fromkeys(
        ("parse_errors", "scripts", "event_attributes", "unsafe_links", "foreign_markup"), 0
    )
    parser = html5lib.HTMLParser(namespaceHTMLElements=False)
    root: ET.Element = parser.parse(page)
    found["parse_errors"] = len(parser.errors)
    for element in root.iter():
        tag = str(element.tag)
        if tag == "script":
            found["scripts"] += 1
        if tag not in elements:
            found["foreign_markup"] += 1
        for name in element.attrib:
            if name.lower().startswith("on"):
                found["event_attributes"] += 1
            elif name not in attributes:
                found["foreign_markup"] += 1
        if tag == "a" and not _href_safe(element.get("href", "")):
            found["unsafe_links"] += 1
        # The writers' own <b>/<i> always carry a class or say UNASSIGNED; user text
        # that became markup would not.
        if tag in ("b", "i") and not element.get("class") and element.text != "UNASSIGNED":
            found["foreign_markup"] += 1
    return found


def outside(output: Path, allowed: Iterable[Path], files: Iterable[Path]) -> list[Path]:
    """Files that are neither expected (`allowed`, or under it) nor inside `output`."""
    out = output.resolve()
    keep = [a.resolve() for a in allowed]
    strays = []
    for path in files:
        if path.is_symlink():
            strays.append(path)
            continue
        real = path.resolve()
        if real.is_relative_to(out) and real != out:
            continue
        if any(real == a or real.is_relative_to(a) for a in keep):
            continue
        strays.append(path)
    return strays
