"""The daemon's machine-readable status file, and reading it back for `feedsync status`."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from feedsync.config import Config
from feedsync.model import Report, Severity
from feedsync.writer import write_atomic

log = logging.getLogger(__name__)
VERSION = 1


class _Watching(Protocol):
    kind: str


def _problems(state: Any) -> list[dict[str, Any]]:
    return [
        {"path": str(p.path), "line": p.line, "reason": p.reason}
        for p in state.index.errors()
        if p.severity is Severity.ERROR
    ]


def write(cfg: Config, state: Any, report: Report | None, now: datetime, seconds: float,
          watcher: _Watching | None, error: str | None = None, url: str | None = None) -> None:
    """Record the last run; never fails the daemon (a status is not worth stopping for)."""
    previous = read(cfg.status_path) or {}
    last = previous.get("last_run", {})
    if report is not None:
        published, scheduled = report.published, report.scheduled
        last = {
            "at": now.isoformat(),
            "seconds": round(seconds, 4),
            "files_read": report.files_read,
            "written": list(report.written),
            "removed": list(report.removed),
        }
    else:
        published, scheduled = previous.get("published", 0), previous.get("scheduled", 0)
    data = {
        "version": VERSION,
        "state": "running",
        "pid": os.getpid(),
        "content_dir": str(cfg.content_dir),
        "output_dir": str(cfg.output_dir),
        "watcher": watcher.kind if watcher is not None else None,
        "serving": url,
        "last_run": last,
        "last_error": error,
        "articles": state.index.article_count,
        "published": published,
        "scheduled": scheduled,
        "next_due": report.next_due.isoformat() if report and report.next_due else None,
        "feeds": report.feeds if report is not None else previous.get("feeds", 0),
        "files_in_error": _problems(state),
    }
    _save(cfg.status_path, data)


def mark_stopped(cfg: Config) -> None:
    data = read(cfg.status_path)
    if data is not None:
        data["state"] = "stopped"
        _save(cfg.status_path, data)


def _save(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())
    except OSError as exc:
        log.warning("cannot write status file %s: %s", path, exc.strerror or exc)


def read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe(data: dict[str, Any]) -> tuple[str, int]:
    """Human lines for `feedsync status` and its exit code (0 running and healthy)."""
    running = data.get("state") == "running" and alive(data.get("pid"))
    last = data.get("last_run") or {}
    lines = [
        f"feedsync {'running' if running else 'not running'}"
        f" (pid {data.get('pid')}, watcher {data.get('watcher') or 'none'}"
        f"{', serving ' + data['serving'] if data.get('serving') else ''})",
        f"last run: {last.get('at', 'never')}, {last.get('files_read', 0)} files read,"
        f" {len(last.get('written', []))} files written, {len(last.get('removed', []))} removed",
        f"{data.get('published', 0)} articles published ({data.get('scheduled', 0)} scheduled,"
        f" next at {data.get('next_due') or 'none'}), {data.get('feeds', 0)} feeds",
    ]
    if data.get("last_error"):
        lines.append(f"last error: {data['last_error']}")
    errors = data.get("files_in_error") or []
    lines.append(f"{len(errors)} files in error")
    lines.extend(f"  {e['path']}:{e.get('line') or '?'}: {e['reason']}" for e in errors)
    healthy = running and not data.get("last_error") and not errors
    return "\n".join(lines), 0 if healthy else 1
