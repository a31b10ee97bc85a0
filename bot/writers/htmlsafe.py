"""Turning IRC text into safe HTML fragments: escaping and conservative linkification.

Everything from IRC passes through `text_html` (or `escape` for text already made
`displayable`), so no user string reaches a page unescaped, and a link is only ever made
for the schemes in `LINK_SCHEMES`. This module builds strings; it must not do any I/O or
decide page layout.
"""

from __future__ import annotations

import html
import re

from bot.writers.irctext import displayable

LINK_SCHEMES = frozenset({"http", "https", "irc", "ircs", "ftp", "mailto"})

# The lookbehind keeps `xhttp://` or `foo.http://` from yielding a link that starts mid-word.
_URL = re.compile(
    r"(?<![\w.+-])(?:(?:https?|ircs?|ftp)://|mailto:)[^\s<>\"]+",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?'\""
_CLOSERS = {")": "(", "]": "[", "}": "{"}


def escape(text: str) -> str:
    """HTML-escape `text`, quotes included, so it is safe in content and attributes."""
    return html.escape(text, quote=True)


def _trim_url(url: str) -> str:
    """Drop sentence punctuation and unbalanced closing brackets from the end of a URL."""
    while url and (url[-1] in _TRAILING or _unbalanced_closer(url)):
        url = url[:-1]
    return url


def _unbalanced_closer(url: str) -> bool:
    opener = _CLOSERS.get(url[-1])
    return opener is not None and url.count(url[-1]) > url.count(opener)


def _has_body(url: str) -> bool:
    return not url.lower().endswith(("://", "mailto:"))


def linkify(text: str) -> str:
    """Escape `text` (already `displayable`) and turn URLs of allowed schemes into links."""
    # Every link has `://` or `mailto:`; most lines have neither (many have a colon, as in
    # "alice: see above"), and skip the pattern search.
    if "://" not in text and "mailto:" not in text.lower():
        return escape(text)
    parts: list[str] = []
    pos = 0
    for match in _URL.finditer(text):
        url = _trim_url(match.group())
        if not _has_body(url):
            continue
        start = match.start()
        escaped = escape(url)
        parts.append(escape(text[pos:start]))
        parts.append(f'<a href="{escaped}">{escaped}</a>')
        pos = start + len(url)
    if not parts:
        return escape(text)
    parts.append(escape(text[pos:]))
    return "".join(parts)


def plain_html(text: str) -> str:
    """IRC text (a nick, a title) as an HTML fragment: cleaned and escaped, no links."""
    return escape(displayable(text))


def text_html(text: str) -> str:
    """IRC text as an HTML fragment: cleaned, escaped, with safe links."""
    return linkify(displayable(text))


def safe_href(url: str) -> str | None:
    """`url` escaped for an href when it is relative or of an allowed scheme, else None.

    For URLs we compose from configuration (info_url, url_prefix), which are trusted more
    than IRC text but still must not produce a `javascript:` link.
    """
    url = displayable(url).strip()
    if not url or any(c.isspace() for c in url):
        return None
    scheme, colon, _ = url.partition(":")
    if colon and "/" not in scheme and scheme.lower() not in LINK_SCHEMES:
        return None
    return escape(url)


def link_or_text(url: str, label: str) -> str:
    """An `<a>` to `url` labelled `label` (escaped) when `url` is safe, else just the label."""
    href = safe_href(url)
    if href is None:
        return escape(label)
    return f'<a href="{href}">{escape(label)}</a>'
