"""WebSub publisher: tell the hub which feed URLs changed, so subscribers get a push.

One form-encoded `hub.mode=publish&hub.url=URL` POST per changed feed. Notifications run on
their own thread: a slow or failing hub is retried with backoff and logged, and never blocks or
fails generation.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

Post = Callable[[str, bytes], int]


def http_post(url: str, body: bytes) -> int:
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "User-Agent": "feedsync (WebSub publisher)"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http(s) only
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


class Publisher:
    """Queues changed feed URLs and notifies the hub from a background thread."""

    def __init__(self, hub: str, *, post: Post = http_post, attempts: int = 6,
                 first_delay: float = 1.0, max_delay: float = 60.0) -> None:
        self.hub = hub
        self._post = post
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._pending: dict[str, tuple[int, float]] = {}  # url -> (attempts made, due time)
        self._busy = 0  # notifications being sent right now
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._work, name="feedsync-websub", daemon=True)
        self._thread.start()
        self.sent: list[str] = []  # URLs the hub accepted, for status and tests

    def notify(self, urls: Iterable[str]) -> None:
        """Queue these feed URLs; a URL already waiting is sent once."""
        with self._cond:
            for url in urls:
                self._pending[url] = (0, 0.0)
            self._cond.notify()

    def _send(self, url: str) -> bool:
        body = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": url}).encode()
        try:
            status = self._post(self.hub, body)
        except OSError as exc:
            log.warning("WebSub hub %s unreachable for %s: %s", self.hub, url, exc)
            return False
        if 200 <= status < 300:
            return True
        log.warning("WebSub hub %s answered %s for %s", self.hub, status, url)
        return False

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    now = time.monotonic()
                    due = [u for u, (_, at) in self._pending.items() if at <= now]
                    if due:
                        break
                    wait = min((at for _, at in self._pending.values()), default=None)
                    self._cond.wait(None if wait is None else max(0.0, wait - now))
                if self._stopping:
                    return
                batch = [(u, self._pending.pop(u)[0]) for u in sorted(due)]
                self._busy = len(batch)
            for url, tries in batch:
                ok = self._send(url)
                with self._cond:
                    self._busy -= 1
                if ok:
                    log.info("WebSub: notified %s of %s", self.hub, url)
                    with self._cond:
                        self.sent.append(url)
                        self._cond.notify_all()
                    continue
                tries += 1
                if tries >= self.attempts:
                    log.error("WebSub: giving up on %s after %d attempts", url, tries)
                    continue
                delay = min(self.first_delay * 2 ** (tries - 1), self.max_delay)
                with self._cond:
                    if url not in self._pending:  # a newer change may have queued it already
                        self._pending[url] = (tries, time.monotonic() + delay)
                    self._cond.notify_all()

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


def feed_urls(base_url: str, written: Iterable[str], suffixes: Iterable[str]) -> list[str]:
    """Absolute URLs of the feed files among `written` (relative output paths)."""
    kinds = tuple(suffixes)
    return [base_url + urllib.parse.quote(rel, safe="/") for rel in written if rel.endswith(kinds)]
