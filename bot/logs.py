"""structlog set-up: console lines on a terminal, JSON lines otherwise.

Records of the standard `logging` module (asyncio, the `irc` library, aiosqlite) go
through the same renderer, so in JSON mode every line on stderr is one JSON object a log
collector can read, whoever wrote it.

Context is added to both: what is bound with `structlog.contextvars`, and the context of
the event being handled (its network, channel and meeting), bound once where the event
enters the engine with `bind_event_context`. That one is a single context variable
holding a function, called only when a line is logged: binding four structlog context
variables per event would double the engine's cost per event for lines hardly ever logged.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any

import structlog

_HANDLER_NAME = "gavel"

Describe = Callable[[], Mapping[str, object]]
_event_context: contextvars.ContextVar[Describe | None] = contextvars.ContextVar(
    "gavel_event_context", default=None
)


def bind_event_context(describe: Describe) -> contextvars.Token[Describe | None]:
    """Until `unbind_event_context(token)`, every log line gets the fields `describe()`
    returns (fields the line names itself win)."""
    return _event_context.set(describe)


def unbind_event_context(token: contextvars.Token[Describe | None]) -> None:
    _event_context.reset(token)


def merge_event_context(_logger: Any, _method: str, event_dict: Any) -> Any:
    """structlog processor: adds the bound event context (see `bind_event_context`)."""
    describe = _event_context.get()
    if describe is not None:
        for key, value in describe().items():
            event_dict.setdefault(key, value)
    return event_dict


def configure(level: str = "info", fmt: str | None = None) -> None:
    """Route structlog (and the standard logging of libraries) to stderr."""
    if fmt is None:
        fmt = "console" if sys.stderr.isatty() else "json"
    numeric = getattr(logging, level.upper(), logging.INFO)
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        merge_event_context,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)  # configured again (tests, a reload): one handler only
    root.addHandler(handler)
    root.setLevel(max(numeric, logging.WARNING))
