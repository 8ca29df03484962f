"""The hub's log: one JSON object per line (``HUB_LOG_FORMAT=json``, the default under ``hub
serve``), or lines a person reads (``console``, for development).

The hub writes events with ``event(logger, name, **fields)`` on a logger from ``get``: the
fields are chosen by the caller, and no caller passes a card number, PIN, code, token, name or
``sub`` (docs/operations.md, Logs). The request being answered (its id, set by
``identity.web.observe``) is added to every line written while it is.

``configure`` (``hub serve``, each of its workers, ``hub demo``) sends every record of the
process to standard output in the chosen format: the standard library's (uvicorn's, libraries')
through a formatter, and the hub's own events straight to the stream, which costs a request's
access-log line about a sixth of the standard library's path. Until then (tests, other commands)
the hub's events go through the standard library like any other record.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

FORMATS = ("json", "console")

#: what every line gets, whoever wrote it: the request's id, the level, the logger, the time
_SHARED: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]

_loggers: dict[str, Logger] = {}
_direct: Any = None  # the configured stream's logger, once ``configure`` has run


class Logger:
    """A named logger of the hub's events: through the standard library's logger ``name``
    until ``configure``, then straight to the configured stream."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._stdlib = structlog.wrap_logger(
            logging.getLogger(name),
            processors=[
                structlog.stdlib.filter_by_level,
                *_SHARED,
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            ],
            wrapper_class=structlog.stdlib.BoundLogger,
        )
        self._direct: Any = None if _direct is None else _direct.bind(logger=name)

    def _target(self) -> Any:
        return self._direct if self._direct is not None else self._stdlib

    def info(self, event: str, **fields: Any) -> None:
        self._target().info(event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._target().warning(event, **fields)

    def exception(self, event: str, **fields: Any) -> None:
        """At level error, with the exception being handled."""
        self._target().exception(event, **fields)


def get(name: str) -> Logger:
    logger = _loggers.get(name)
    if logger is None:
        logger = _loggers[name] = Logger(name)
    return logger


def configure(log_format: str, *, stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Send every record of this process to ``stream`` (standard output) in ``log_format``,
    replacing the handlers configured before (uvicorn's among them)."""
    global _direct
    if log_format not in FORMATS:
        raise ValueError(f"HUB_LOG_FORMAT must be json or console, not {log_format!r}")
    stream = stream or sys.stdout
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
        logger.setLevel(logging.NOTSET)  # the root's level, whatever uvicorn's configuration set
        logger.disabled = False
    # the access log is the hub's own (``identity.web.observe``), without query strings
    logging.getLogger("uvicorn.access").disabled = True
    _direct = structlog.wrap_logger(
        structlog.WriteLogger(stream),
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
    )
    for each in _loggers.values():
        each._direct = _direct.bind(logger=each.name)


def unconfigure() -> None:
    """Send the hub's events through the standard library again, as before ``configure`` (the
    standard library's own handlers are the caller's to put back)."""
    global _direct
    _direct = None
    for each in _loggers.values():
        each._direct = None
    logging.getLogger("uvicorn.access").disabled = False


def event(logger: Logger, name: str, **fields: Any) -> None:
    """Log event ``name`` at level info with ``fields``."""
    logger.info(name, **fields)
