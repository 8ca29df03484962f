"""The hub's log: one JSON object per line (``HUB_LOG_FORMAT=json``, the default under ``hub
serve``), or coloured lines a person reads (``console``, for development).

Every record goes through the standard library's ``logging``, so uvicorn's own lines, those of
libraries and the hub's events all come out the same way. The hub writes events with
``event(logger, name, **fields)``: the fields are chosen by the caller, and no caller passes a
card number, PIN, code, token, name or ``sub`` (docs/operations.md, Logs). The request being
answered (its id, set by ``identity.web.observe``) is added to every line written while it is.

``configure`` is called by ``hub serve`` and each of its workers; until then (tests, other
commands) records go to whatever handlers the standard library has.
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

_loggers: dict[str, structlog.stdlib.BoundLogger] = {}


def get(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger that hands its events to the standard library's logger ``name``,
    without touching structlog's global configuration."""
    logger = _loggers.get(name)
    if logger is None:
        logger = _loggers[name] = structlog.wrap_logger(
            logging.getLogger(name),
            processors=[
                structlog.stdlib.filter_by_level,
                *_SHARED,
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            ],
            wrapper_class=structlog.stdlib.BoundLogger,
        )
    return logger


def configure(log_format: str, *, stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Send every record of this process to ``stream`` (standard output) in ``log_format``,
    replacing the handlers configured before (uvicorn's among them)."""
    if log_format not in FORMATS:
        raise ValueError(f"HUB_LOG_FORMAT must be json or console, not {log_format!r}")
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
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # the access log is the hub's own (``identity.web.observe``), without query strings
    logging.getLogger("uvicorn.access").disabled = True


def event(logger: structlog.stdlib.BoundLogger, name: str, **fields: Any) -> None:
    """Log event ``name`` at level info with ``fields``."""
    logger.info(name, **fields)
