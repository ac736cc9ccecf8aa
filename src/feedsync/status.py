"""The daemon's status: what it records, and how `feedsync status` judges and shows it.

The status file lives outside the output folder (see `Config.status_path`), so an output that
cannot be written can still be reported. It says what the daemon last did and every degraded
state it is in; whether the daemon runs at all is never taken from the file: the pid it names
must be alive and hold the output folder's lock (`instance`), else it is not running.

Exit codes of `feedsync status`: 0 running and healthy, 1 running but degraded (a problem
below, or files in error), 3 not running.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from feedsync import instance
from feedsync.config import Config
from feedsync.model import Problem, Report, Severity
from feedsync.writer import write_atomic

log = logging.getLogger(__name__)
VERSION = 2

RUNNING, DEGRADED, NOT_RUNNING = 0, 1, 3

# The degraded states a daemon can be in, each with what to do about it, in display order.
KINDS: dict[str, tuple[str, str]] = {
    "output_unwritable": (
        "the output folder cannot be written",
        "feeds already there are kept and it retries with backoff; free"
        " space, remount it read-write or fix its permissions",
    ),
    "content_missing": (
        "the content folder is missing",
        "every feed is kept as it is until the folder is back",
    ),
    "reload_rejected": (
        "the last configuration reload was rejected",
        "the daemon still runs with the configuration it had; fix the file"
        " and reload again (systemctl reload feedsync, or kill -HUP PID)",
    ),
    "watcher": (
        "file changes are not watched natively",
        "edits are seen by polling or by the periodic reconcile only; raise"
        " fs.inotify.max_user_watches, or set watcher: polling to accept it",
    ),
    "websub": (
        "the WebSub hub is failing",
        "feeds are written as usual; subscribers get no pushes until the hub accepts"
        " notifications again",
    ),
    "internal": (
        "a run failed unexpectedly",
        "it is retried with a full run; if this persists, report it with the log",
    ),
}


@dataclass(frozen=True, slots=True)
class Condition:
    """One degraded state: since when, and the latest error that shows it."""

    since: str
    error: str
    extra: tuple[tuple[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"since": self.since, "error": self.error, **dict(self.extra)}


def _problems(problems: Iterable[Problem]) -> list[dict[str, Any]]:
    return [
        {"path": str(p.path), "line": p.line, "reason": p.reason}
        for p in problems
        if p.severity is Severity.ERROR
    ]


class Board:
    """The daemon's status, kept in memory and saved atomically on every change.

    Any thread may report a condition (the WebSub publisher does, from its own thread); the
    figures of a run are taken only from what the loop thread passes in, never read from the
    index here, so saving never touches SQLite from another thread.
    """

    def __init__(self, cfg: Config, *, config_file: Path | None = None) -> None:
        self._lock = threading.Lock()
        self.cfg = cfg
        self.path = cfg.status_path
        self._data: dict[str, Any] = {
            "version": VERSION,
            "state": "running",
            "pid": os.getpid(),
            "started_at": None,
            "config_file": str(config_file.absolute()) if config_file is not None else None,
            "content_dir": str(cfg.content_dir.absolute()),
            "output_dir": str(cfg.output_dir.absolute()),
            "watcher": None,
            "serving": None,
            "runs": 0,  # completed since the daemon started
            "last_run": {},
            "last_error": None,
            "articles": 0,
            "published": 0,
            "scheduled": 0,
            "next_due": None,
            "feeds": 0,
            "files_in_error": [],
        }
        self._conditions: dict[str, Condition] = {}
        self._save_failed = False
        self._saving = threading.Lock()  # a snapshot and its write go together: no stale file

    # -- what the daemon reports -------------------------------------------------------------

    @property
    def runs(self) -> int:
        """Runs completed since the daemon started (also in the status file)."""
        with self._lock:
            return int(self._data["runs"])

    def update(self, **fields: Any) -> None:
        with self._lock:
            self._data.update(fields)
        self.save()

    def reconfigure(self, cfg: Config) -> None:
        """A new configuration was applied: the same file unless `status_file` moved it."""
        with self._lock:
            self.cfg = cfg
            self._data["content_dir"] = str(cfg.content_dir.absolute())
            self._data["output_dir"] = str(cfg.output_dir.absolute())
            old, self.path = self.path, cfg.status_path
        if old != self.path:
            _unlink(old)
        self.save()

    def ran(
        self,
        report: Report,
        now: datetime,
        seconds: float,
        articles: int,
        problems: Iterable[Problem],
    ) -> None:
        """A run finished: its figures, and it cleared the run error."""
        last = {
            "at": now.isoformat(),
            "seconds": round(seconds, 4),
            "files_read": report.files_read,
            "written": len(report.written),
            "unchanged": len(report.unchanged),
            "removed": len(report.removed),
        }
        with self._lock:
            runs = self._data["runs"] + 1
        self.update(
            runs=runs,
            last_run=last,
            last_error=None,
            articles=articles,
            published=report.published,
            scheduled=report.scheduled,
            next_due=report.next_due.isoformat() if report.next_due else None,
            feeds=report.feeds,
            files_in_error=_problems(problems),
        )

    def set(self, kind: str, error: str, now: datetime, **extra: Any) -> None:
        """Enter (or stay in) a degraded state; `since` is kept from its first report."""
        with self._lock:
            old = self._conditions.get(kind)
            since = old.since if old is not None else now.isoformat()
            new = Condition(since, error, tuple(sorted(extra.items())))
            if old == new:
                return
            self._conditions[kind] = new
        self.save()

    def clear(self, kind: str) -> None:
        with self._lock:
            if self._conditions.pop(kind, None) is None:
                return
        self.save()

    def has(self, kind: str) -> bool:
        with self._lock:
            return kind in self._conditions

    def stopped(self) -> None:
        self.update(state="stopped")

    # -- the file ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            data = dict(self._data)
            data["problems"] = {k: c.as_dict() for k, c in self._conditions.items()}
        return data

    def save(self) -> None:
        """Never fails the daemon: a status is not worth stopping for (but it is logged)."""
        try:
            with self._saving:
                body = (json.dumps(self.snapshot(), indent=2, ensure_ascii=False) + "\n").encode()
                self.path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(self.path, body)
        except OSError as exc:
            if not self._save_failed:
                log.error(
                    "cannot write the status file %s: %s; 'feedsync status' cannot see"
                    " this daemon (set status_file, or XDG_STATE_HOME, to a writable"
                    " place)",
                    self.path,
                    exc.strerror or exc,
                )
            self._save_failed = True
            return
        if self._save_failed:
            log.info("status file %s is written again", self.path)
        self._save_failed = False


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What `feedsync status` concludes: running or not, why, and its exit code."""

    running: bool
    holder: int | None  # the pid holding the output folder's lock, whoever it is
    problems: dict[str, dict[str, Any]]
    code: int


def judge(
    data: Mapping[str, Any] | None, output_dir: Path, broken_config: str | None = None
) -> Verdict:
    """Running means: the status says so, its pid is alive and that pid holds the lock."""
    pid = (data or {}).get("pid")
    held_by = instance.holder(output_dir)
    running = (
        data is not None and data.get("state") == "running" and instance.holds(output_dir, pid)
    )
    problems = dict((data or {}).get("problems") or {}) if running else {}
    if broken_config is not None:
        problems["config_broken"] = {"error": broken_config}
    errors = (data or {}).get("files_in_error") or []
    if not running:
        code = NOT_RUNNING
    elif problems or errors or (data or {}).get("last_error"):
        code = DEGRADED
    else:
        code = RUNNING
    return Verdict(running, held_by, problems, code)


def as_json(data: Mapping[str, Any] | None, verdict: Verdict, path: Path) -> str:
    """`feedsync status --json`: the recorded status plus the verdict, one object."""
    merged: dict[str, Any] = dict(data or {})
    merged.update(
        {
            "status_file": str(path),
            "running": verdict.running,
            "lock_holder": verdict.holder,
            "problems": verdict.problems,
            "exit_code": verdict.code,
        }
    )
    if not verdict.running and merged.get("state") == "running":
        merged["state"] = "dead"  # the file says running, but its process is gone
    return json.dumps(merged, indent=2, ensure_ascii=False, sort_keys=True)


def describe(data: Mapping[str, Any] | None, verdict: Verdict, path: Path, output_dir: Path) -> str:
    """Human lines for `feedsync status`."""
    lines: list[str] = []
    if data is None:
        lines.append(f"feedsync not running: no status in {path}")
        if verdict.holder is not None:
            lines.append(
                f"  but pid {verdict.holder} holds {output_dir}: a feedsync started"
                " with another status_file or XDG_STATE_HOME; run status with the"
                " same settings"
            )
        else:
            lines.append("  start it with 'feedsync run'")
    else:
        last = data.get("last_run") or {}
        watcher = data.get("watcher") or "none"
        serving = f", serving {data['serving']}" if data.get("serving") else ""
        if verdict.running:
            lines.append(f"feedsync running (pid {data.get('pid')}, watcher {watcher}{serving})")
        else:
            why = "stopped" if data.get("state") == "stopped" else "its process is gone"
            lines.append(f"feedsync not running ({why}; pid {data.get('pid')} was the last)")
            if verdict.holder is not None:
                lines.append(f"  pid {verdict.holder} holds {output_dir} now")
        lines.append(f"content {data.get('content_dir')} -> output {data.get('output_dir')}")
        lines.append(
            f"last run: {last.get('at', 'never')} (run {data.get('runs', 0)} since start),"
            f" {last.get('files_read', 0)} files read,"
            f" {_count(last.get('written'))} written, {_count(last.get('unchanged'))}"
            f" unchanged, {_count(last.get('removed'))} removed"
        )
        lines.append(
            f"{data.get('published', 0)} articles published ({data.get('scheduled', 0)}"
            f" scheduled, next at {data.get('next_due') or 'none'}), {data.get('feeds', 0)} feeds"
        )
        if data.get("last_error"):
            lines.append(f"last error: {data['last_error']}")
    for kind, info in verdict.problems.items():
        lines.extend(_problem_lines(kind, info))
    errors = (data or {}).get("files_in_error") or []
    if data is not None:
        lines.append(f"{len(errors)} files in error")
        lines.extend(f"  {e['path']}:{e.get('line') or '?'}: {e['reason']}" for e in errors)
    return "\n".join(lines)


def _count(value: object) -> int:
    """A count, also from a status an older feedsync wrote (lists of paths)."""
    if isinstance(value, list):
        return len(value)
    return value if isinstance(value, int) else 0


def _problem_lines(kind: str, info: Mapping[str, Any]) -> list[str]:
    if kind == "config_broken":
        return [
            f"DEGRADED: the configuration file is broken: {info.get('error')}",
            "  the running daemon keeps its configuration; a reload or restart would"
            " fail until the file is fixed",
        ]
    title, advice = KINDS.get(kind, (kind, ""))
    since = f" since {info['since']}" if info.get("since") else ""
    lines = [f"DEGRADED: {title}{since}: {info.get('error')}"]
    if kind == "websub" and info.get("given_up"):
        lines.append(f"  {info['given_up']} notifications given up")
    if advice:
        lines.append(f"  {advice}")
    return lines
