"""WebSub: feeds declare the hub, and each changed feed is announced to it exactly once."""

import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from feedsync import config, websub
from feedsync.cli import main
from feedsync.daemon import Daemon

from test_daemon import wait_until


class Hub:
    """A local WebSub hub peer that records publish notifications (and can fail on purpose)."""

    def __init__(self, failures: int = 0) -> None:
        self.received: list[dict[str, list[str]]] = []
        self.content_types: list[str] = []
        self.failures = failures
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                if hub.failures > 0:
                    hub.failures -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                hub.content_types.append(self.headers.get("Content-Type", ""))
                hub.received.append(urllib.parse.parse_qs(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hub"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def urls(self) -> Counter:
        return Counter(r["hub.url"][0] for r in self.received)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def hub():
    peer = Hub()
    yield peer
    peer.close()


def test_the_daemon_announces_exactly_the_feeds_an_edit_changed(tmp_path, hub, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A", topics=["AI"], provider="Acme")
    write_article(content, "b.md", title="B", topics=["Robotics"], provider="Beta")
    cfg = config.load(None, {"content_dir": content, "output_dir": out, "debounce_ms": 50,
                             "base_url": "https://feeds.example.org/", "websub_hub": hub.url})
    daemon = Daemon(cfg)
    thread = threading.Thread(target=daemon.run)
    thread.start()
    try:
        assert daemon.ready.wait(10)
        wait_until(lambda: len(hub.received) == 15, 5, "the first run's 15 feeds")
        hub.received.clear()
        write_article(content, "a.md", title="A, edited", topics=["AI"], provider="Acme")
        expected = Counter(f"https://feeds.example.org/{p}.{e}"
                           for p in ("all", "topics/ai", "providers/acme")
                           for e in ("rss", "atom", "json"))
        wait_until(lambda: hub.urls() == expected, 5, "one notice per changed feed")
        assert daemon.publisher.drain(5)
        assert hub.urls() == expected  # nothing more, nothing twice
        assert all(r["hub.mode"] == ["publish"] for r in hub.received)
        assert set(hub.content_types) == {"application/x-www-form-urlencoded"}
    finally:
        daemon.stop()
        thread.join(10)
    assert not thread.is_alive()


def test_a_failing_hub_is_retried_with_backoff_and_never_blocks(hub):
    hub.failures = 2
    publisher = websub.Publisher(hub.url, first_delay=0.05)
    try:
        started = time.monotonic()
        publisher.notify(["https://feeds.example.org/all.atom"])
        assert time.monotonic() - started < 0.05  # notify only queues
        assert publisher.drain(10)
        assert hub.urls() == Counter({"https://feeds.example.org/all.atom": 1})
        assert hub.failures == 0
    finally:
        publisher.stop()


def test_an_unreachable_hub_is_given_up_on_and_logged(caplog):
    publisher = websub.Publisher("http://127.0.0.1:9/hub", attempts=2, first_delay=0.01)
    try:
        publisher.notify(["https://feeds.example.org/all.atom"])
        assert publisher.drain(10)
    finally:
        publisher.stop()
    assert any("giving up" in r.getMessage() for r in caplog.records)


def test_generate_announces_what_it_wrote_and_its_exit_code_ignores_the_hub(tmp_path, hub,
                                                                           write_article,
                                                                           capsys):
    write_article(tmp_path / "in", "a.md", topics=["AI"], provider="Acme")
    cfg_file = tmp_path / "feedsync.yaml"
    cfg_file.write_text(f"websub_hub: {hub.url}\nbase_url: https://feeds.example.org/\n")
    args = ["generate", "--config", str(cfg_file), "--content", str(tmp_path / "in"),
            "--output", str(tmp_path / "out")]
    assert main(args) == 0
    assert sum(hub.urls().values()) == 9 and max(hub.urls().values()) == 1
    hub.received.clear()
    assert main(args) == 0  # nothing changed: nothing to announce
    assert hub.received == []
    hub.close()
    write_article(tmp_path / "in", "b.md", title="New")
    assert main(args) == 0  # hub gone: generation still succeeds
