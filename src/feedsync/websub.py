"""WebSub publisher: tell the hub which feed URLs changed, so subscribers get a push.

One form-encoded `hub.mode=publish&hub.url=URL` POST per changed feed. Notifications run on
their own thread: a slow or failing hub is retried with backoff and logged, and never blocks or
fails generation. Whatever the hub answers (garbage, a reset, a 503), the thread lives on and
keeps a `HubHealth` the daemon can show in `feedsync status`.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

log = logging.getLogger(__name__)

Post = Callable[[str, bytes], int]

_ERROR_CHARS = 200  # a status line, not a traceback


def http_post(url: str, body: bytes) -> int:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "feedsync (WebSub publisher)",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http(s) only
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass(frozen=True, slots=True)
class HubHealth:
    """How the hub has been answering, for `feedsync status`."""

    hub: str
    failing_since: datetime | None  # UTC start of the current failing streak; None if healthy
    last_error: str | None  # one line, e.g. "BadStatusLine('garbage\\r\\n')" or "HTTP 503"
    given_up: int  # notifications abandoned during this failing streak
    alive: bool  # the worker thread is running


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def describe(exc: BaseException) -> str:
    """One line naming the error's type, so `BadStatusLine` and a reset read differently."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason  # urllib's wrapper says nothing the reason does not
    text = " ".join(repr(exc).split())
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 1] + "…"


class Publisher:
    """Queues changed feed URLs and notifies the hub from a background thread."""

    def __init__(
        self,
        hub: str,
        *,
        post: Post = http_post,
        attempts: int = 6,
        first_delay: float = 1.0,
        max_delay: float = 60.0,
        clock: Callable[[], datetime] = _utc_now,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.hub = hub
        self._post = post
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._clock = clock
        self._on_change = on_change
        self._pending: dict[str, tuple[int, float]] = {}  # url -> (attempts made, due time)
        self._busy = 0  # notifications being sent right now
        self._cond = threading.Condition()
        self._stopping = False
        self.sent: list[str] = []  # URLs the hub accepted, for status and tests
        # Health has its own lock, held only to read or swap these three, so health() never
        # waits behind the queue.
        self._health_lock = threading.Lock()
        self._failing_since: datetime | None = None
        self._last_error: str | None = None
        self._given_up = 0
        self._thread = threading.Thread(target=self._work, name="feedsync-websub", daemon=True)
        self._thread.start()

    def notify(self, urls: Iterable[str]) -> None:
        """Queue these feed URLs; a URL already waiting is sent once."""
        with self._cond:
            for url in urls:
                self._pending[url] = (0, 0.0)
            self._cond.notify()

    def health(self) -> HubHealth:
        with self._health_lock:
            return HubHealth(
                self.hub,
                self._failing_since,
                self._last_error,
                self._given_up,
                self._thread.is_alive(),
            )

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _send(self, url: str) -> str | None:
        """Post one notification; None if the hub accepted it, else what went wrong.

        Catches everything: whatever a hub sends back (garbage, a reset, a timeout) is one
        failed notification to retry, never the end of the thread.
        """
        body = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": url}).encode()
        try:
            status = self._post(self.hub, body)
        except Exception as exc:
            error = describe(exc)
            log.warning("WebSub hub %s failed for %s: %s", self.hub, url, error)
            log.debug("WebSub hub %s: traceback for %s", self.hub, url, exc_info=True)
            return error
        if 200 <= status < 300:
            return None
        log.warning("WebSub hub %s answered %s for %s", self.hub, status, url)
        return f"HTTP {status}"

    def _work(self) -> None:
        while True:
            try:
                if not self._step():
                    return
            except Exception:
                # A bug in our own bookkeeping: say so loudly, pause, carry on.
                log.exception("WebSub publisher for %s: unexpected error; carrying on", self.hub)
                with self._cond:
                    pause = max(0.1, min(self.first_delay, self.max_delay))  # no busy spin
                    self._cond.wait_for(lambda: self._stopping, pause)

    def _step(self) -> bool:
        """Send the next due notification; False once stopping."""
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                due = [u for u, (_, at) in self._pending.items() if at <= now]
                if due:
                    break
                wait = min((at for _, at in self._pending.values()), default=None)
                self._cond.wait(None if wait is None else max(0.0, wait - now))
            if self._stopping:
                return False
            url = min(due)
            tries = self._pending.pop(url)[0] + 1
            self._busy = 1
        try:
            error = self._send(url)
            if error is None:
                log.info("WebSub: notified %s of %s", self.hub, url)
                with self._cond:
                    self.sent.append(url)
                changed = self._succeeded()
            elif tries >= self.attempts:
                log.error(
                    "WebSub: giving up on %s after %d attempts (hub %s: %s)",
                    url,
                    tries,
                    self.hub,
                    error,
                )
                changed = self._failed(error, gave_up=True)
            else:
                delay = min(self.first_delay * 2 ** (tries - 1), self.max_delay)
                with self._cond:
                    if url not in self._pending:  # a newer change may have queued it already
                        self._pending[url] = (tries, time.monotonic() + delay)
                changed = self._failed(error, gave_up=False)
            if changed:
                self._changed()  # before busy drops, so drain() returning means status is told
        finally:
            with self._cond:
                self._busy = 0
                self._cond.notify_all()
        return True

    # Only the worker thread writes health, so it reads its own fields without the lock.

    def _succeeded(self) -> bool:
        recovered = self._failing_since is not None
        with self._health_lock:
            self._failing_since, self._last_error, self._given_up = None, None, 0
        if recovered:
            log.info("WebSub hub %s accepts notifications again", self.hub)
        return recovered

    def _failed(self, error: str, *, gave_up: bool) -> bool:
        starting = self._failing_since is None
        since = self._clock() if starting else self._failing_since
        changed = starting or gave_up or error != self._last_error
        with self._health_lock:
            self._failing_since, self._last_error = since, error
            self._given_up += 1 if gave_up else 0
        return changed

    def _changed(self) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change()
        except Exception:
            log.exception("WebSub publisher for %s: on_change failed", self.hub)

    def drain(self, timeout: float) -> bool:
        """Wait until nothing is pending (for one-shot runs); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(15)


def feed_urls(base_url: str, written: Iterable[str]) -> list[str]:
    """Absolute URLs of the feed files among `written` (relative output paths)."""
    from feedsync import formats

    kinds = formats.suffixes(feed_only=True)
    return [
        base_url + urllib.parse.quote(rel, safe="/")
        for rel in written
        if rel.endswith(kinds) and not rel.startswith("archive/")  # archives are not pushed
    ]
