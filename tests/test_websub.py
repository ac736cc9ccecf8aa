"""WebSub: feeds declare the hub, and each changed feed is announced to it exactly once."""

import itertools
import logging
import queue
import socket
import struct
import threading
import time
import urllib.parse
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from feedsync import config, websub
from feedsync.cli import main
from feedsync.daemon import Daemon

from conftest import wait_until

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
ALL = "https://feeds.example.org/all.atom"
AI = "https://feeds.example.org/topics/ai.atom"
ROBOTICS = "https://feeds.example.org/topics/robotics.atom"


class Hub:
    """A WebSub hub peer on a real loopback socket that records publish notifications.

    Each request is answered as told: "garbage" (a line that is not HTTP, then close), "reset"
    (read the request, then close with SO_LINGER 0: the client sees a reset), "503", or "ok"
    (record the form body, answer 204). Unpaced, the next answers come from `answer()` and then
    "ok"; paced, every request waits for the test to `answer()` it, so a test can look at the
    publisher between two requests.
    """

    def __init__(self, *, paced: bool = False) -> None:
        self.received: list[dict[str, list[str]]] = []
        self.content_types: list[str] = []
        self.answered: list[str] = []
        self.paced = paced
        self._answers: queue.Queue[str] = queue.Queue()
        self._closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._address = self._listener.getsockname()
        self.url = f"http://127.0.0.1:{self._address[1]}/hub"
        self._thread = threading.Thread(target=self._serve, name="test-hub", daemon=True)
        self._thread.start()

    def answer(self, *how: str) -> None:
        for one in how:
            self._answers.put(one)

    def urls(self) -> Counter:
        return Counter(r["hub.url"][0] for r in self.received)

    def close(self) -> None:
        """Stop serving; a request waiting for its answer is reset. Safe to call twice."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._answers.put("reset")
        socket.create_connection(self._address, timeout=5).close()  # wake accept()
        self._thread.join(5)
        self._listener.close()

    def _serve(self) -> None:
        while True:
            conn, _ = self._listener.accept()
            with conn:
                if self._closed.is_set():
                    return
                conn.settimeout(5)
                try:
                    self._handle(conn)
                except OSError:
                    pass  # the client went first; nothing to answer

    def _next_answer(self) -> str:
        if self.paced:
            try:
                return self._answers.get(timeout=10)
            except queue.Empty:
                return "reset"  # a test that forgot to answer fails, but does not hang
        try:
            return self._answers.get_nowait()
        except queue.Empty:
            return "ok"

    def _handle(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        fields = (line.partition(":") for line in head.decode("latin-1").split("\r\n")[1:])
        headers = {name.strip().lower(): value.strip() for name, _, value in fields}
        while len(body) < int(headers.get("content-length", "0")):
            chunk = conn.recv(65536)
            if not chunk:
                return
            body += chunk
        how = self._next_answer()
        self.answered.append(how)
        if how == "garbage":
            conn.sendall(b"garbage\r\n")
        elif how == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif how == "503":
            conn.sendall(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                b"Connection: close\r\n\r\n"
            )
        else:
            self.content_types.append(headers.get("content-type", ""))
            self.received.append(urllib.parse.parse_qs(body.decode()))
            conn.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")


@pytest.fixture
def hub():
    peer = Hub()
    try:
        yield peer
    finally:
        peer.close()


@pytest.fixture
def paced_hub():
    peer = Hub(paced=True)
    try:
        yield peer
    finally:
        peer.close()


@pytest.fixture
def publisher_for():
    """Start publishers for a hub; all are stopped (their hub closed first, so none waits)."""
    started: list[tuple[Hub, websub.Publisher]] = []

    def start(peer: Hub, **options) -> websub.Publisher:
        publisher = websub.Publisher(peer.url, **options)
        started.append((peer, publisher))
        return publisher

    try:
        yield start
    finally:
        for peer, publisher in started:
            peer.close()
            publisher.stop()


def test_the_daemon_announces_exactly_the_feeds_an_edit_changed(tmp_path, hub, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A", topics=["AI"], provider="Acme")
    write_article(content, "b.md", title="B", topics=["Robotics"], provider="Beta")
    cfg = config.load(
        None,
        {
            "content_dir": content,
            "output_dir": out,
            "debounce_ms": 50,
            "base_url": "https://feeds.example.org/",
            "websub_hub": hub.url,
        },
    )
    daemon = Daemon(cfg)
    thread = threading.Thread(target=daemon.run)
    thread.start()
    try:
        assert daemon.ready.wait(10)
        wait_until(lambda: len(hub.received) == 15, 5, "the first run's 15 feeds")
        hub.received.clear()
        write_article(content, "a.md", title="A, edited", topics=["AI"], provider="Acme")
        expected = Counter(
            f"https://feeds.example.org/{p}.{e}"
            for p in ("all", "topics/ai", "providers/acme")
            for e in ("rss", "atom", "json")
        )
        wait_until(lambda: hub.urls() == expected, 5, "one notice per changed feed")
        assert daemon.publisher.drain(5)
        assert hub.urls() == expected  # nothing more, nothing twice
        assert all(r["hub.mode"] == ["publish"] for r in hub.received)
        assert set(hub.content_types) == {"application/x-www-form-urlencoded"}
    finally:
        daemon.stop()
        thread.join(10)
    assert not thread.is_alive()


def test_a_failing_hub_is_retried_with_backoff_and_never_blocks(hub, publisher_for):
    hub.answer("503", "503")
    publisher = publisher_for(hub, first_delay=0.05)
    started = time.monotonic()
    publisher.notify([ALL])
    assert time.monotonic() - started < 0.05  # notify only queues
    assert publisher.drain(10)
    assert hub.urls() == Counter({ALL: 1})
    assert hub.answered == ["503", "503", "ok"]


def test_an_unreachable_hub_is_given_up_on_and_logged(caplog):
    publisher = websub.Publisher("http://127.0.0.1:9/hub", attempts=2, first_delay=0.01)
    try:
        publisher.notify(["https://feeds.example.org/all.atom"])
        assert publisher.drain(10)
    finally:
        publisher.stop()
    assert any("giving up" in r.getMessage() for r in caplog.records)


def test_generate_announces_what_it_wrote_and_its_exit_code_ignores_the_hub(
    tmp_path, hub, write_article, capsys
):
    write_article(tmp_path / "in", "a.md", topics=["AI"], provider="Acme")
    cfg_file = tmp_path / "feedsync.yaml"
    cfg_file.write_text(f"websub_hub: {hub.url}\nbase_url: https://feeds.example.org/\n")
    args = [
        "generate",
        "--config",
        str(cfg_file),
        "--content",
        str(tmp_path / "in"),
        "--output",
        str(tmp_path / "out"),
    ]
    assert main(args) == 0
    assert sum(hub.urls().values()) == 9 and max(hub.urls().values()) == 1
    hub.received.clear()
    assert main(args) == 0  # nothing changed: nothing to announce
    assert hub.received == []
    hub.close()
    write_article(tmp_path / "in", "b.md", title="New")
    assert main(args) == 0  # hub gone: generation still succeeds


def test_garbage_then_a_reset_neither_kill_the_publisher_nor_lose_the_notice(
    paced_hub, publisher_for, caplog
):
    caplog.set_level(logging.DEBUG, logger="feedsync.websub")
    ticks = (T0 + timedelta(minutes=n) for n in itertools.count())
    changes: list[websub.HubHealth] = []
    publisher = publisher_for(
        paced_hub,
        first_delay=0.01,
        clock=lambda: next(ticks),
        on_change=lambda: changes.append(publisher.health()),
    )
    publisher.notify([ALL])

    paced_hub.answer("garbage")
    wait_until(lambda: publisher.health().last_error is not None, 5, "the garbage to count")
    garbage = publisher.health()
    assert garbage == websub.HubHealth(paced_hub.url, T0, "BadStatusLine('garbage\\r\\n')", 0, True)
    assert publisher.alive()

    paced_hub.answer("reset")
    wait_until(lambda: publisher.health().last_error != garbage.last_error, 5, "the reset")
    reset = publisher.health()
    assert reset.last_error is not None
    assert reset.last_error.startswith(("ConnectionResetError", "RemoteDisconnected"))
    assert reset.failing_since == T0  # the streak began with the garbage
    assert reset.alive and publisher.alive()

    paced_hub.answer("ok")
    wait_until(lambda: publisher.sent == [ALL], 5, "the notice after the recovery")
    assert paced_hub.urls() == Counter({ALL: 1})
    assert paced_hub.answered == ["garbage", "reset", "ok"]
    wait_until(lambda: len(changes) == 3, 5, "on_change for start, new error, recovery")
    assert changes == [garbage, reset, websub.HubHealth(paced_hub.url, None, None, 0, True)]
    assert publisher.health() == changes[-1]

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all(r.exc_info is None for r in warnings)
    assert all(paced_hub.url in r.getMessage() and ALL in r.getMessage() for r in warnings)
    assert "BadStatusLine" in warnings[0].getMessage()
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 2 and all(r.levelno == logging.DEBUG for r in tracebacks)
    assert [r.getMessage() for r in caplog.records if "again" in r.getMessage()] == [
        f"WebSub hub {paced_hub.url} accepts notifications again"
    ]


def test_a_notice_given_up_while_the_hub_fails_is_counted_and_a_later_one_arrives(
    paced_hub, publisher_for, caplog
):
    changes: list[websub.HubHealth] = []
    publisher = publisher_for(
        paced_hub,
        attempts=2,
        first_delay=0.01,
        on_change=lambda: changes.append(publisher.health()),
    )
    publisher.notify([ALL])
    paced_hub.answer("reset")
    wait_until(lambda: publisher.health().failing_since is not None, 5, "the hub to fail")
    publisher.notify([AI])  # queued while the hub is failing
    paced_hub.answer("503", "503", "503")
    assert publisher.drain(5)
    failing = publisher.health()
    assert failing.given_up == 2 and failing.last_error == "HTTP 503" and failing.alive
    assert failing.failing_since is not None and failing.failing_since.tzinfo == timezone.utc
    assert paced_hub.received == []
    assert sum("giving up" in r.getMessage() for r in caplog.records) == 2

    publisher.notify([ROBOTICS])
    paced_hub.answer("ok")
    assert publisher.drain(5)
    assert paced_hub.urls() == Counter({ROBOTICS: 1})
    assert publisher.health() == websub.HubHealth(paced_hub.url, None, None, 0, True)
    given_up = [c.given_up for c in changes]
    assert given_up[-3:] == [1, 2, 0] and set(given_up[:-3]) == {0}


def test_an_on_change_that_raises_is_logged_and_the_publisher_carries_on(
    paced_hub, publisher_for, caplog
):
    calls: list[websub.HubHealth] = []

    def broken_display() -> None:
        calls.append(publisher.health())
        raise RuntimeError("status display broke")

    publisher = publisher_for(paced_hub, first_delay=0.01, on_change=broken_display)
    publisher.notify([ALL])
    paced_hub.answer("garbage", "ok")
    assert publisher.drain(5)
    assert publisher.alive() and len(calls) == 2  # the streak began; the hub recovered
    publisher.notify([AI])
    paced_hub.answer("ok")
    assert publisher.drain(5)
    assert paced_hub.urls() == Counter({ALL: 1, AI: 1})
    assert publisher.alive()
    assert sum("on_change failed" in r.getMessage() for r in caplog.records) == 2


def test_a_fault_in_the_publishers_own_bookkeeping_is_logged_and_the_loop_goes_on(
    paced_hub, publisher_for, caplog
):
    readings: list[datetime] = []

    def clock_that_breaks_once() -> datetime:
        readings.append(T0)
        if len(readings) == 1:
            raise RuntimeError("clock broke")
        return T0

    publisher = publisher_for(paced_hub, first_delay=0.01, clock=clock_that_breaks_once)
    publisher.notify([ALL])
    paced_hub.answer("503", "ok")
    assert publisher.drain(5)
    assert publisher.alive() and paced_hub.urls() == Counter({ALL: 1})
    faults = [r for r in caplog.records if "unexpected error" in r.getMessage()]
    assert len(faults) == 1 and faults[0].exc_info and faults[0].levelno == logging.ERROR
    assert publisher.health() == websub.HubHealth(paced_hub.url, None, None, 0, True)


def test_a_failing_hub_shows_in_the_daemons_status_until_it_recovers(
    tmp_path, paced_hub, write_article
):
    from conftest import read_status

    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A", topics=["AI"], provider="Acme")
    cfg = config.load(
        None,
        {
            "content_dir": content,
            "output_dir": out,
            "debounce_ms": 50,
            "base_url": "https://feeds.example.org/",
            "websub_hub": paced_hub.url,
        },
    )
    daemon = Daemon(cfg)
    thread = threading.Thread(target=daemon.run)
    thread.start()
    try:
        assert daemon.ready.wait(10)
        paced_hub.answer("garbage")

        def problem() -> dict:
            return read_status(out).get("problems", {}).get("websub") or {}

        wait_until(
            lambda: "BadStatusLine" in problem().get("error", ""),
            5,
            "the garbage answer to show in the status",
        )
        assert problem()["error"].startswith(paced_hub.url)
        paced_hub.answer("reset")
        wait_until(
            lambda: problem() and "BadStatusLine" not in problem()["error"],
            5,
            "the reset to show in the status",
        )
        assert daemon.publisher.alive()
        paced_hub.answer(*["ok"] * 30)
        wait_until(lambda: len(paced_hub.urls()) == 9, 10, "every notice after the recovery")
        wait_until(lambda: not problem(), 5, "the status to clear")
    finally:
        paced_hub.close()
        daemon.stop()
        thread.join(10)
    assert not thread.is_alive()
