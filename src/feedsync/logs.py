"""Log lines for operators: `text` (time, level, message) or `json` (one object per line).

A person at a terminal running `generate` wants the problems as `path:line: error: reason`
and nothing around them; a service's log wants a time and a level on every line, except in
the systemd journal, which stamps lines itself (it sets JOURNAL_STREAM for the service's
stderr); a log pipeline wants JSON with the structured fields a call passes as `extra`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone

# Attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
FILES_LOGGER = "feedsync.files"  # one line per file written or removed (-v)


def _time(record: logging.LogRecord) -> str:
    when = datetime.fromtimestamp(record.created, timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class TextFormatter(logging.Formatter):
    """`2026-12-01T12:00:00Z INFO message`; without the time where the journal adds one."""

    def __init__(self, stamped: bool = True, plain: bool = False) -> None:
        super().__init__()
        self.stamped = stamped
        self.plain = plain  # the message alone (one-shot commands at a terminal)

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        if self.plain:
            return text
        head = f"{_time(record)} " if self.stamped else ""
        return f"{head}{record.levelname} {text}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = (
                    value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
                )
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def setup(
    level: int, *, fmt: str = "text", service: bool = False, files_level: int | None = None
) -> None:
    """Send every log line to stderr in `fmt`; `service` adds time and level to text lines."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            TextFormatter(stamped=not os.environ.get("JOURNAL_STREAM"), plain=not service)
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger(FILES_LOGGER).setLevel(files_level if files_level is not None else level)
    # APScheduler logs every job it adds at INFO; only its warnings matter to an operator.
    logging.getLogger("apscheduler").setLevel(max(level, logging.WARNING))
    # aiohttp logs every malformed request a client sends as an ERROR with a traceback: any
    # client could flood the log. Bad requests already get their 400.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
