"""The HTML5 page frame shared by the log and minutes pages, with its embedded stylesheet.

Pages are self-contained (no external stylesheet, no script) so an archive of files is all a
reader needs. This module must not see unescaped user text: callers pass escaped fragments.
"""

from __future__ import annotations

from bot import __version__

STYLESHEET = """\
body { font-family: sans-serif; margin: 1em 2em; color: #111; background: #fff; }
pre { font-family: monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
a.tm { color: #007020; text-decoration: none; }
a.tm:target { background: #ffff99; }
.nk, .nka { color: #062873; font-weight: bold; }
.ac { color: #00a000; }
.hi { color: #4070a0; }
.cmd, .topic { color: #007020; font-weight: bold; }
.cmdline { font-weight: bold; }
.topicline { color: #000080; font-weight: bold; }
.details { font-size: smaller; color: #444; }
.itemtype { font-style: normal; font-weight: bold; }
b.TOPIC { color: #000; }
h1 { font-size: 1.5em; }
h3 { margin-top: 2em; }
"""


def page_head(title_html: str) -> str:
    """Everything before the body content; `title_html` must already be escaped."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        f'<meta name="generator" content="Gavel {__version__}">\n'
        f"<title>{title_html}</title>\n"
        f"<style>\n{STYLESHEET}</style>\n"
        "</head>\n"
        "<body>\n"
    )


PAGE_TAIL = "</body>\n</html>\n"
