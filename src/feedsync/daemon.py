"""`feedsync run`: keep the feeds in step with the content folder until stopped.

Three sources of work, one worker:
- the watcher records changed paths (on watchdog's thread) and wakes the loop;
- APScheduler wakes it for the periodic full reconcile and at the next embargo's end;
- signals ask it to stop (SIGTERM, SIGINT) or to reload the configuration (SIGHUP).
The loop waits until events have been quiet for the debounce time, then calls the same
`generate.run` as the one-shot command with just the changed paths. Only the loop thread
touches the index, so runs never overlap and a slow run never piles up: whatever arrives
meanwhile is batched into the next one.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler

from feedsync import generate, render, scan, status, websub
from feedsync.config import Config
from feedsync.errors import FeedsyncError, OutputError
from feedsync.model import Report
from feedsync.server import Server
from feedsync.watcher import Watcher

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MAX_BATCH_WAIT = 1.0  # seconds: a steady stream of events still gets published this often
MAX_BACKOFF = 60.0


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Daemon:
    """The long-running mode; `run()` blocks until `stop()` (or a signal) and returns 0."""

    def __init__(self, cfg: Config, *, reload: Callable[[], Config] | None = None,
                 clock: Clock = utc_now, serve: tuple[str, int] | None = None) -> None:
        self.cfg = cfg
        self._serve = serve
        self.server: Server | None = None
        self.publisher: websub.Publisher | None = None
        self._reload = reload
        self._clock = clock
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._pending: set[Path] = set()
        self._first_event = 0.0
        self._last_event = 0.0
        self._full = False
        self._reload_asked = False
        self._retry_at: float | None = None
        self._backoff = 1.0
        self.state = generate.State.open(cfg)
        self.watcher: Watcher | None = None
        self.scheduler: BackgroundScheduler | None = None
        self.runs = 0
        self.ready = threading.Event()  # set after the first full generation

    # -- inputs (any thread) -----------------------------------------------------------------

    def record(self, path: Path) -> None:
        """Watcher callback: note the path and return at once."""
        now = time.monotonic()
        with self._lock:
            if not self._pending:
                self._first_event = now
            self._pending.add(path)
            self._last_event = now
        self._wake.set()

    def request_full(self) -> None:
        with self._lock:
            self._full = True
        self._wake.set()

    def request_reload(self) -> None:
        with self._lock:
            self._reload_asked = True
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT stop after the write in progress; SIGHUP reloads the configuration."""

        def _stop(signum: int, frame: FrameType | None) -> None:
            log.info("received %s; stopping after the current write", signal.Signals(signum).name)
            self.stop()

        def _hup(signum: int, frame: FrameType | None) -> None:
            log.info("received SIGHUP; reloading the configuration")
            self.request_reload()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGHUP, _hup)

    # -- lifecycle ---------------------------------------------------------------------------

    def _start_watcher(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.watcher = Watcher(self.cfg.content_dir, self.record, mode=self.cfg.watcher,
                               poll_seconds=self.cfg.poll_seconds,
                               ignore_folders=[self.cfg.output_dir],
                               ignore_files=[self.cfg.status_path])
        try:
            self.watcher.start()
        except OSError as exc:
            log.error("cannot watch %s: %s; relying on the periodic reconcile",
                      self.cfg.content_dir, exc.strerror or exc)
            self.watcher = None
            return
        log.info("watching %s (%s)", self.cfg.content_dir, self.watcher.kind)

    def _start_scheduler(self) -> None:
        self.scheduler = BackgroundScheduler(timezone=timezone.utc)
        self.scheduler.add_job(self.request_full, "interval", id="reconcile",
                               seconds=self.cfg.reconcile_seconds, max_instances=1,
                               coalesce=True, misfire_grace_time=None)
        self.scheduler.start()

    def _schedule_publish(self, due: datetime | None) -> None:
        """A one-off wake-up when the next embargoed article comes out; late is still fine."""
        if self.scheduler is None:
            return
        if due is None:
            if self.scheduler.get_job("publish"):
                self.scheduler.remove_job("publish")
            return
        self.scheduler.add_job(self.publish_due, "date", id="publish", run_date=due,
                               replace_existing=True, misfire_grace_time=None, coalesce=True)

    def publish_due(self) -> None:
        """The clock passed an embargo: a run with no changed paths re-selects by time."""
        self._wake.set()

    def _start_publisher(self) -> None:
        if self.publisher is not None:
            self.publisher.stop()
            self.publisher = None
        if self.cfg.websub_hub:
            self.publisher = websub.Publisher(self.cfg.websub_hub)

    def _shutdown(self) -> None:
        if self.publisher is not None:
            self.publisher.drain(2.0)  # a moment for the last notifications, then go
            self.publisher.stop()
            self.publisher = None
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    # -- the loop ----------------------------------------------------------------------------

    def _status(self, report: Report | None, now: datetime, started: float,
                error: str | None = None) -> None:
        status.write(self.cfg, self.state, report, now, time.monotonic() - started,
                     self.watcher, error=error,
                     url=self.server.url if self.server is not None else None)

    def _generate(self, changed: set[Path] | None) -> None:
        started = time.monotonic()
        now = self._clock()
        try:
            report = generate.run(self.cfg, now, state=self.state, changed=changed,
                                  cancel=self._stopping.is_set, parallel=changed is None)
        except generate.Interrupted:
            log.info("stopped before the run wrote anything; feeds are as they were")
            return
        except OutputError as exc:
            self._retry_at = time.monotonic() + self._backoff
            log.error("%s; retrying in %.0fs", exc, self._backoff)
            self._backoff = min(self._backoff * 2, MAX_BACKOFF)
            with self._lock:  # the run was rolled back: walk everything when retrying
                self._full = True
            self._status(None, now, started, error=str(exc))
            return
        except FeedsyncError as exc:  # e.g. the content folder vanished: keep every feed
            log.error("%s; feeds are kept as they are until it is back", exc)
            self._status(None, now, started, error=str(exc))
            return
        except Exception as exc:  # the loop's boundary: a bug must not end the service
            log.exception("unexpected failure; retrying with a full run in %.0fs", self._backoff)
            self._retry_at = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, MAX_BACKOFF)
            self.state.close()  # start from a clean slate rather than a doubtful one
            self.state = generate.State()
            with self._lock:
                self._full = True
            self._status(None, now, started, error=f"internal error: {exc!r}")
            return
        self._retry_at = None
        self._backoff = 1.0
        self.runs += 1
        if changed is None:
            # The index is long-lived: keep the cyclic GC from re-scanning it after every edit.
            gc.freeze()
        elapsed = time.monotonic() - started
        if report.written or report.removed or changed is None:
            log.info("%s (%.0f ms)", report.summary(), elapsed * 1000)
        self._schedule_publish(report.next_due)
        if self.publisher is not None and report.written:
            self.publisher.notify(websub.feed_urls(self.cfg.base_url, report.written,
                                                   render.EXTENSIONS.values()))
        self._status(report, now, started)

    def _take(self) -> tuple[set[Path] | None, bool]:
        """The work gathered so far: changed paths (None: walk everything), reload asked."""
        with self._lock:
            paths, self._pending = self._pending, set()
            full, self._full = self._full, False
            reload, self._reload_asked = self._reload_asked, False
        return (None if full else paths), reload

    def _quiet_enough(self) -> float:
        """Seconds still to wait for events to settle (0 when it is time to run)."""
        debounce = self.cfg.debounce_ms / 1000
        with self._lock:
            if not self._pending:
                return 0.0
            now = time.monotonic()
            return max(0.0, min(self._last_event + debounce, self._first_event + MAX_BATCH_WAIT)
                       - now)

    def _do_reload(self) -> None:
        if self._reload is None:
            return
        try:
            new = self._reload()
        except FeedsyncError as exc:
            log.error("new configuration not used, keeping the old one: %s", exc)
            return
        if new != self.cfg:
            log.info("configuration reloaded")
            self.cfg = new
            self.state.close()
            self.state = generate.State.open(new)
            self._shutdown()
            self._start_publisher()
            self._start_watcher()
            self._start_scheduler()
        with self._lock:
            self._full = True

    def run(self) -> int:
        """Generate everything, then follow the content folder until stopped."""
        scan.require_folder(self.cfg.content_dir)
        if not os.access(self.cfg.content_dir, os.R_OK | os.X_OK):
            raise FeedsyncError(f"content folder {self.cfg.content_dir} is not readable")
        if self._serve is not None:
            self.server = Server(self.cfg.output_dir, *self._serve)
            self.server.start()
        self._start_publisher()
        self._start_watcher()  # before the first run, so no edit falls between the two
        self._start_scheduler()
        try:
            self._generate(None)
            self.ready.set()  # also when that first run failed: the loop retries it
            while not self._stopping.is_set():
                timeout = None
                if self._retry_at is not None:
                    timeout = max(0.0, self._retry_at - time.monotonic())
                self._wake.wait(timeout)
                while (delay := self._quiet_enough()) > 0 and not self._stopping.is_set():
                    self._stopping.wait(delay)
                self._wake.clear()
                if self._stopping.is_set():
                    break
                if self._retry_at is not None and time.monotonic() < self._retry_at:
                    continue
                changed, reload = self._take()
                if reload:
                    self._do_reload()
                    changed = None
                if changed is None and (self.watcher is None or not self.watcher.healthy()):
                    log.warning("re-arming the watch on %s", self.cfg.content_dir)
                    self._start_watcher()
                self._generate(changed)
        finally:
            self._shutdown()
            self.state.close()
            status.mark_stopped(self.cfg)
            if self.server is not None:
                self.server.stop()
                self.server = None
        return 0
