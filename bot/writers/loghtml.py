"""The `.log.html` log page: every recorded line in one `<pre>`, each with its own anchor.

Line N is `l-N`, and its time links to itself so a single line can be shared. Commands,
actions and `nick:` addressing get classes for the stylesheet. Everything from IRC is
cleaned and escaped; this module must not do I/O or let raw IRC text into the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from bot.core.commands import COMMANDS
from bot.core.recognise import CommandLine, recognise
from bot.core.record import LINE_ACTION, Gap, MeetingRecord
from bot.core.timefmt import clock, zone
from bot.writers.gaps import MARK, gap_text, with_gaps
from bot.writers.htmlpage import PAGE_TAIL, page_head
from bot.writers.htmlsafe import escape, linkify, plain_html, text_html
from bot.writers.irctext import displayable
from bot.writers.times import CLOCK, line_times

_ADDRESSEE = re.compile(r"[\w\[\]\\`^{|}-]+:(?=\s|$)")
_CLASSES = {"topic": ("topic", "topicline")}
_COMMAND_CLASSES = ("cmd", "cmdline")


def _addressee_end(text: str) -> int:
    """Length of a leading `someone:` (followed by a space or the end), else 0."""
    match = _ADDRESSEE.match(text)
    return match.end() if match else 0


def _command_html(text: str, command: CommandLine) -> str:
    # The core matched `[ \t]*#word`, which holds no character `displayable` would change,
    # so the same prefix marks the command word in the cleaned text.
    lead = len(text) - len(text.lstrip(" \t"))
    word_end = lead + 1 + len(command.word)
    rest = text[word_end:]
    arg = rest.lstrip()
    gap = rest[: len(rest) - len(arg)]
    word_class, arg_class = _CLASSES.get(command.word, _COMMAND_CLASSES)
    html = f'{text[:lead]}<span class="{word_class}">{escape(text[lead:word_end])}</span>'
    if arg:
        html += f'{escape(gap)}<span class="{arg_class}">{linkify(arg)}</span>'
    return html


def message_html(raw: str) -> str:
    """The text of a (non-action) message as HTML, with its command or addressee marked."""
    text = raw if raw.isprintable() else displayable(raw)
    if text[:1] in ("#", " ", "\t") and text.lstrip(" \t").startswith("#"):
        command = recognise(raw)
        # Unknown `#words` are ordinary lines for the bot, so they are ordinary here too.
        if isinstance(command, CommandLine) and command.word in COMMANDS:
            return _command_html(text, command)
    # Most lines hold no colon, so they need neither the addressee nor the link search.
    if ":" not in text:
        return escape(text)
    end = _addressee_end(text)
    if end:
        return f'<span class="hi">{escape(text[:end])}</span>{linkify(text[end:])}'
    return linkify(text)


def iter_log_html(record: MeetingRecord, times: Sequence[str] | None = None) -> Iterator[str]:
    """The `.log.html` page, one line of the log at a time; `times` as `line_times`."""
    stamps = line_times(record) if times is None else times
    yield page_head(plain_html(f"{record.channel} log"))
    yield "<pre>\n"
    tz = zone(record.timezone)

    def gap_line(gap: Gap, count: int) -> str:
        # Not an `l-N` anchor: those are the recorded lines the minutes link to.
        anchor = f'<span id="gap-{count}" class="tm">{clock(gap.start, tz)}</span>'
        return f'{anchor} <span class="gap">{MARK} {escape(gap_text(gap, tz))}</span>\n'

    yield from with_gaps(_lines(record, stamps), record, gap_line)
    yield "</pre>\n"
    yield PAGE_TAIL


def _lines(record: MeetingRecord, stamps: Sequence[str]) -> Iterator[str]:
    # A nick's markup is the same on every line it says, so it is built once.
    said: dict[str, str] = {}
    did: dict[str, str] = {}
    for (n, who, kind, text), stamp in zip(record.lines.rows(), stamps, strict=True):
        anchor = f'<a href="#l-{n}" id="l-{n}" class="tm">{stamp[CLOCK]}</a> '
        if kind == LINE_ACTION:
            nick = did.get(who)
            if nick is None:
                nick = did[who] = f'<span class="nka">* {plain_html(who)}</span> '
            yield f'{anchor}{nick}<span class="ac">{text_html(text)}</span>\n'
        else:
            nick = said.get(who)
            if nick is None:
                nick = said[who] = f'<span class="nk">&lt;{plain_html(who)}&gt;</span> '
            yield f"{anchor}{nick}{message_html(text)}\n"


def render_log_html(record: MeetingRecord) -> str:
    """The whole `.log.html` page."""
    return "".join(iter_log_html(record))
