"""`feedsync run`: keep the feeds in step with the content folder until stopped.

Three sources of work, one worker:
- the watcher records changed paths (on watchdog's thread) and wakes the loop;
- APScheduler wakes it for the periodic full reconcile and at the next embargo's end;
- signals ask it to stop (SIGTERM, SIGINT) or to reload the configuration (SIGHUP).
The loop waits until events have been quiet for the debounce time, then calls the same
`generate.run` as the one-shot command with just the changed paths. Only the loop thread
touches the index, so runs never overlap and a slow run never piles up: whatever arrives
meanwhile is batched into the next one.

It is never silently wrong: it holds the output folder's lock for its lifetime (one daemon
per output), checks every half second which folder `content_dir` leads to (a deploy that
renames a folder or switches a symlink is followed at once), and every degraded state it is in
(output unwritable, content missing, a rejected reload, no native watch, a failing hub, an
unexpected error) is kept in its status (`status.Board`) until it is over.
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
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from apscheduler.schedulers.background import BackgroundScheduler

from feedsync import generate, instance, scan, status, websub, writer
from feedsync.config import Config
from feedsync.errors import FeedsyncError, OutputError
from feedsync.watcher import Identity, Watcher, identity

if TYPE_CHECKING:
    from feedsync.server import Server

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MAX_BATCH_WAIT = 1.0  # seconds: a steady stream of events still gets published this often
MAX_BACKOFF = 60.0
FOLDER_CHECK_SECONDS = 0.5  # how often `content_dir` is looked up again: one stat and a realpath


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Daemon:
    """The long-running mode; `run()` blocks until `stop()` (or a signal) and returns 0."""

    def __init__(
        self,
        cfg: Config,
        *,
        reload: Callable[[], Config] | None = None,
        clock: Clock = utc_now,
        serve: tuple[str, int] | None = None,
        config_file: Path | None = None,
        pid_file: Path | None = None,
    ) -> None:
        self.cfg = cfg
        self._pid_file = pid_file
        self.board = status.Board(cfg, config_file=config_file)
        self._lock_held: instance.Lock | None = None
        self._generation = 0  # of the watcher: events from an older one no longer count
        self._watched: Identity | None = None  # the folder the watcher is on
        self._relink = False
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
        self.state: generate.State | None = None
        self.watcher: Watcher | None = None
        self.scheduler: BackgroundScheduler | None = None
        self.ready = threading.Event()  # set after the first full generation

    # -- inputs (any thread) -----------------------------------------------------------------

    def record(self, path: Path, generation: int | None = None) -> None:
        """Watcher callback: note the path and return at once."""
        if generation is not None and generation != self._generation:
            return  # from the watch on a folder `content_dir` no longer leads to
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
        self._generation += 1
        generation = self._generation
        self.watcher = Watcher(
            self.cfg.content_dir,
            lambda p: self.record(p, generation),
            mode=self.cfg.watcher,
            poll_seconds=self.cfg.poll_seconds,
            ignore_folders=[self.cfg.output_dir],
            ignore_files=[self.cfg.status_path],
        )
        try:
            self.watcher.start()
        except OSError as exc:
            self._watched = identity(self.cfg.content_dir)
            reason = f"cannot watch {self.cfg.content_dir}: {exc.strerror or exc}"
            log.error("%s; relying on the periodic reconcile", reason)
            self.watcher = None
            self.board.update(watcher=None)
            if self._watched is not None:  # a missing folder is reported as that instead
                self.board.set("watcher", reason, self._clock())
            return
        self._watched = self.watcher.watching
        where = self._watched[0] if self._watched else self.cfg.content_dir
        log.info("watching %s (%s)", where, self.watcher.kind)
        self.board.update(watcher=self.watcher.kind)
        if self.watcher.fallback is not None:
            self.board.set(
                "watcher",
                f"{self.watcher.fallback}; polling every {self.cfg.poll_seconds}s",
                self._clock(),
            )
        else:
            self.board.clear("watcher")

    def _check_folder(self) -> None:
        """Follow `content_dir` to whatever folder it names now; report it while it is gone."""
        now_id = identity(self.cfg.content_dir)
        if now_id == self._watched and (self.watcher is None or self.watcher.alive()):
            return
        if now_id is None:
            if not self.board.has("content_missing"):
                log.error(
                    "content folder %s is gone; every feed is kept as it is until it is back",
                    self.cfg.content_dir,
                )
                self.board.set(
                    "content_missing",
                    f"{self.cfg.content_dir} does not exist or is not a folder",
                    self._clock(),
                )
            if self.watcher is not None:
                self.watcher.stop()
                self.watcher = None
                self._generation += 1
                self.board.update(watcher=None)
            self._watched = None
            return
        if self._watched is not None and now_id[0] != self._watched[0]:
            log.info(
                "content folder %s now leads to %s (was %s); following it",
                self.cfg.content_dir,
                now_id[0],
                self._watched[0],
            )
        elif self._watched is not None and now_id != self._watched:
            log.info("content folder %s was replaced; following the new one", self.cfg.content_dir)
        elif self._watched is None:
            log.info("content folder %s is back", self.cfg.content_dir)
        else:
            log.warning("the watch on %s stopped; re-arming it", self.cfg.content_dir)
        self._start_watcher()
        with self._lock:
            self._full = True
            self._relink = True  # stamps decide what is re-read, not the new inodes
        self._wake.set()

    def _start_scheduler(self) -> None:
        self.scheduler = BackgroundScheduler(timezone=timezone.utc)
        self.scheduler.add_job(
            self.request_full,
            "interval",
            id="reconcile",
            seconds=self.cfg.reconcile_seconds,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self.scheduler.start()

    def _schedule_publish(self, due: datetime | None) -> None:
        """A one-off wake-up when the next embargoed article comes out; late is still fine."""
        if self.scheduler is None:
            return
        if due is None:
            if self.scheduler.get_job("publish"):
                self.scheduler.remove_job("publish")
            return
        # The scheduler runs on the wall clock, the daemon on its own (`clock=`, `--now`): wake
        # when the daemon's clock will reach `due`, not when the wall clock does. With the real
        # clock the two are the same; with another one, a due time in the wall clock's past
        # would otherwise fire at once, run, and be scheduled again, in a loop.
        run_date = utc_now() + (due - self._clock())
        self.scheduler.add_job(
            self.publish_due,
            "date",
            id="publish",
            run_date=run_date,
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    def publish_due(self) -> None:
        """The clock passed an embargo: a run with no changed paths re-selects by time."""
        self._wake.set()

    def _start_publisher(self) -> None:
        if self.publisher is not None:
            self.publisher.stop()
            self.publisher = None
        self.board.clear("websub")
        if self.cfg.websub_hub:
            self.publisher = websub.Publisher(
                self.cfg.websub_hub, clock=self._clock, on_change=self._hub_changed
            )

    def _hub_changed(self) -> None:
        """From the publisher's thread: the hub started or stopped failing."""
        publisher = self.publisher
        if publisher is None:
            return
        health = publisher.health()
        if health.failing_since is None:
            self.board.clear("websub")
            return
        self.board.set(
            "websub",
            f"{health.hub}: {health.last_error}",
            health.failing_since,
            given_up=health.given_up,
        )

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

    def _failed(self, kind: str, message: str, now: datetime, retry: bool) -> None:
        if retry:
            self._retry_at = time.monotonic() + self._backoff
            log.error("%s (retrying in %.0fs)", message, self._backoff)
            self._backoff = min(self._backoff * 2, MAX_BACKOFF)
            with self._lock:  # the run was rolled back: walk everything when retrying
                self._full = True
        else:
            log.error("%s", message)
        self.board.set(kind, message, now)
        self.board.update(last_error=message)

    def _generate(self, changed: set[Path] | None, relink: bool = False) -> None:
        assert self.state is not None
        started = time.monotonic()
        now = self._clock()
        try:
            report = generate.run(
                self.cfg,
                now,
                state=self.state,
                changed=changed,
                cancel=self._stopping.is_set,
                parallel=changed is None,
                relink=relink,
            )
            if changed is None and not report.written and not report.removed:
                writer.probe(self.cfg.output_dir)  # nothing to write: could it have been?
        except generate.Interrupted:
            log.info("stopped before the run wrote anything; feeds are as they were")
            return
        except OutputError as exc:
            self._failed("output_unwritable", str(exc), now, retry=True)
            return
        except FeedsyncError as exc:  # e.g. the content folder vanished: keep every feed
            if identity(self.cfg.content_dir) is None:
                self._failed(
                    "content_missing",
                    f"{exc}; feeds are kept as they are until it is back",
                    now,
                    retry=False,
                )
            else:
                self._failed("internal", str(exc), now, retry=True)
            return
        except Exception as exc:  # the loop's boundary: a bug must not end the service
            log.exception("unexpected failure")
            self.state.close()  # a clean slate on the same cache rather than a doubtful one
            self.state = generate.State.open(self.cfg)
            self._failed("internal", f"internal error: {exc!r}", now, retry=True)
            return
        self._retry_at = None
        self._backoff = 1.0
        for kind in ("output_unwritable", "internal", "content_missing"):
            self.board.clear(kind)
        if changed is None:
            # The index is long-lived: keep the cyclic GC from re-scanning it after every edit.
            gc.freeze()
        elapsed = time.monotonic() - started
        log.info(
            "%s (%.0f ms)",
            report.summary(),
            elapsed * 1000,
            extra={
                "files_read": report.files_read,
                "written": len(report.written),
                "unchanged": len(report.unchanged),
                "removed": len(report.removed),
                "files_with_errors": report.files_with_errors,
                "ms": round(elapsed * 1000),
            },
        )
        self._schedule_publish(report.next_due)
        if self.publisher is not None and report.written:
            self.publisher.notify(websub.feed_urls(self.cfg.base_url, report.written))
        self.board.ran(
            report, now, elapsed, self.state.index.article_count, self.state.index.errors()
        )

    def _take(self) -> tuple[set[Path] | None, bool]:
        """The work gathered so far: changed paths (None: walk everything), reload asked."""
        with self._lock:
            paths, self._pending = self._pending, set()
            full, self._full = self._full, False
            reload, self._reload_asked = self._reload_asked, False
        return (None if full else paths), reload

    def _take_relink(self) -> bool:
        with self._lock:
            relink, self._relink = self._relink, False
        return relink

    def _quiet_enough(self) -> float:
        """Seconds still to wait for events to settle (0 when it is time to run)."""
        debounce = self.cfg.debounce_ms / 1000
        with self._lock:
            if not self._pending:
                return 0.0
            now = time.monotonic()
            return max(
                0.0, min(self._last_event + debounce, self._first_event + MAX_BATCH_WAIT) - now
            )

    def _do_reload(self) -> None:
        if self._reload is None:
            return
        now = self._clock()
        try:
            new = self._reload()
            if new != self.cfg and new.output_dir.absolute() != self.cfg.output_dir.absolute():
                lock = instance.acquire(new.output_dir)  # Busy when another feedsync has it
            else:
                lock = None
        except FeedsyncError as exc:
            log.error("new configuration not used, keeping the old one: %s", exc)
            self.board.set("reload_rejected", str(exc), now, at=now.isoformat())
            return
        self.board.clear("reload_rejected")
        if new != self.cfg:
            log.info("configuration reloaded")
            if lock is not None and self._lock_held is not None:
                self._lock_held.release()
                self._lock_held = lock
            self.cfg = new
            assert self.state is not None
            self.state.close()
            self.state = generate.State.open(new)
            self._shutdown()
            self.board.reconfigure(new)
            self._start_publisher()
            self._start_watcher()
            self._start_scheduler()
        else:
            log.info("configuration reloaded (unchanged)")
        with self._lock:
            self._full = True

    def _check_serving(self) -> None:
        """Self links and the OPML are built from base_url: say so when it names elsewhere."""
        if self.server is None:
            return
        parts = urlsplit(self.cfg.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = (parts.hostname or "").lower()
        bound_host, bound_port = self._serve or ("", 0)
        local = {"127.0.0.1", "localhost", "::1"}
        same_host = (
            host == bound_host.lower()
            or bound_host in ("0.0.0.0", "::")
            or (host in local and bound_host in local)
        )
        if not same_host or port != self.server.port:
            log.warning(
                "serving at %s, but base_url is %s: feeds' self links and feeds.opml"
                " point there. That is right behind a proxy that forwards it here;"
                " otherwise set base_url to %s",
                self.server.url,
                self.cfg.base_url,
                self.server.url,
            )

    def _watchdog(self) -> None:
        """Threads that must not die: re-arm what did, and say so."""
        if self.publisher is not None and not self.publisher.alive():
            log.error("the WebSub publisher stopped; starting it again")
            self._start_publisher()

    def run(self) -> int:
        """Generate everything, then follow the content folder until stopped."""
        self._lock_held = instance.acquire(self.cfg.output_dir)  # Busy: exit 2, touch nothing
        try:
            if self._pid_file is not None:  # only once the lock is ours: never another's file
                self._pid_file.write_text(f"{os.getpid()}\n")
            return self._run()
        finally:
            if self._pid_file is not None:
                self._pid_file.unlink(missing_ok=True)
            self._lock_held.release()
            self._lock_held = None

    def _run(self) -> int:
        scan.require_folder(self.cfg.content_dir)
        if not os.access(self.cfg.content_dir, os.R_OK | os.X_OK):
            raise FeedsyncError(f"content folder {self.cfg.content_dir} is not readable")
        self.state = generate.State.open(self.cfg)
        self.board.update(started_at=self._clock().isoformat(), state="running")
        if self._serve is not None:
            from feedsync.server import Server

            self.server = Server(self.cfg.output_dir, *self._serve)
            self.server.start()
            self.board.update(serving=self.server.url)
            self._check_serving()
        self._start_publisher()
        self._start_watcher()  # before the first run, so no edit falls between the two
        self._start_scheduler()
        try:
            self._generate(None)
            self.ready.set()  # also when that first run failed: the loop retries it
            while not self._stopping.is_set():
                timeout = FOLDER_CHECK_SECONDS
                if self._retry_at is not None:
                    timeout = min(timeout, max(0.0, self._retry_at - time.monotonic()))
                self._wake.wait(timeout)
                self._check_folder()
                self._watchdog()
                if not self._wake.is_set() and (
                    self._retry_at is None or time.monotonic() < self._retry_at
                ):
                    continue  # only the timer: nothing to do
                while (delay := self._quiet_enough()) > 0 and not self._stopping.is_set():
                    self._stopping.wait(delay)
                self._wake.clear()
                if self._stopping.is_set():
                    break
                if self._retry_at is not None and time.monotonic() < self._retry_at:
                    continue
                # The folder may have gone during the quiet wait (rmtree removes the files
                # first): their deletions must not empty the feeds it keeps.
                self._check_folder()
                changed, reload = self._take()
                if reload:
                    self._do_reload()
                    changed = None
                if self._watched is None and identity(self.cfg.content_dir) is None:
                    continue  # the content folder is gone: keep every feed, wait for it
                if changed is None and (self.watcher is None or not self.watcher.healthy()):
                    log.warning("re-arming the watch on %s", self.cfg.content_dir)
                    self._start_watcher()
                self._generate(changed, relink=changed is None and self._take_relink())
        finally:
            self._shutdown()
            if self.state is not None:
                self.state.close()
            self.board.stopped()
            if self.server is not None:
                self.server.stop()
                self.server = None
        return 0
