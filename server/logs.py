"""Structured logs: one JSON object per line, with the request id when there is one.

Operations:
    JsonFormatter              logging.Formatter writing `{"time", "level", "logger", "message",
                               "request_id"?, ...extra fields}`
    configure_logging(level)   JSON lines on stderr for the `compatkit` loggers (serve command),
                               and granian's (`_granian`, its Python side and Rust core)
    REQUEST_FIELDS             the `extra=` keys the proxy's access log line uses

Secrets never reach a log: log calls pass ids, routes and statuses, never headers or bodies.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import compat

REQUEST_FIELDS = ("request_id", "route", "model", "status", "duration_ms", "stream", "error_type")
_STANDARD = frozenset(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    """One JSON object per record; `extra=` fields become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in document:
                document[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return compat.dumps(document).decode()


def configure_logging(level: str = "info") -> None:
    """Send the `compatkit` loggers, and granian's, to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("compatkit", "_granian"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
