"""Structured logs: one JSON object a line, each carrying the request's correlation ID.

The ID comes from the caller's `X-Correlation-ID` (if it is a sane token) or is made up; it
is sent back in the same header, and put into the envelope of every command the request
publishes, so one ID follows a submission from the HTTP request through every service.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import g, has_request_context, request

HEADER = "X-Correlation-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
# LogRecord attributes that are not extra fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


def correlation_id() -> str | None:
    """The current request's correlation ID (None outside a request)."""
    if not has_request_context():
        return None
    value = g.get("correlation_id")
    if value is None:
        value = g.correlation_id = chosen_correlation_id(request.headers.get(HEADER, ""))
    return str(value)


def chosen_correlation_id(offered: str) -> str:
    """The caller's `X-Correlation-ID` if it is a sane token, else a new one."""
    return offered if _SANE.match(offered) else uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "message", "correlation_id", ...extra}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        cid = getattr(record, "correlation_id", None) or correlation_id()
        if cid:
            entry["correlation_id"] = cid
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "correlation_id":
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """Send the root logger's records to stderr as JSON lines (once per process)."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
