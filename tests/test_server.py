"""feedsync serve: what a feed reader's HTTP client sees (real requests over loopback)."""

import gzip
import http.client
import signal
import subprocess

import feedparser
import pytest

from feedsync.server import Server

from conftest import feedsync_process, generate_once, read_status, wait_until


@pytest.fixture
def served(tmp_path, write_article):
    """Feeds for two articles, served on a free loopback port; always stopped."""
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A", topics=["Künstliche Intelligenz"])
    write_article(content, "b.md", title="B", day="2024-06-01")
    server = Server(out, "127.0.0.1", 0)
    out.mkdir()
    server.start()
    generate_once(content, out, base_url=server.url)
    yield server, content, out
    server.stop()


def request(server, method, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    "path, media",
    [
        ("/all.rss", "application/rss+xml; charset=utf-8"),
        ("/all.atom", "application/atom+xml; charset=utf-8"),
        ("/all.json", "application/feed+json; charset=utf-8"),
        ("/feeds.opml", "text/x-opml; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
        ("/topics/k%C3%BCnstliche-intelligenz.atom", "application/atom+xml; charset=utf-8"),
        ("/topics/k%C3%BCnstliche-intelligenz.html", "text/html; charset=utf-8"),
        ("/feeds.css", "text/css; charset=utf-8"),
    ],
)
def test_files_are_served_with_their_media_types(served, path, media):
    server, _, out = served
    code, headers, body = request(server, "GET", path)
    assert code == 200 and headers["Content-Type"] == media
    expected = out / (
        "index.html" if path == "/" else path.lstrip("/").replace("k%C3%BCnstliche", "künstliche")
    )
    assert body == expected.read_bytes()
    assert headers["ETag"].startswith('"') and headers["Last-Modified"].endswith("GMT")
    assert "max-age" in headers["Cache-Control"]
    # No script, inline style, form or frame: the pages need none (test_browser.py).
    assert headers["Content-Security-Policy"].startswith("default-src 'none'; style-src 'self'")


def test_head_has_the_headers_and_no_body(served):
    server, _, out = served
    code, headers, body = request(server, "HEAD", "/all.rss")
    assert code == 200 and body == b""
    assert int(headers["Content-Length"]) == len((out / "all.rss").read_bytes())


def test_conditional_requests_get_304_until_the_feed_changes(served, write_article):
    server, content, out = served
    _, headers, _ = request(server, "GET", "/all.atom")
    code, _, body = request(server, "GET", "/all.atom", {"If-None-Match": headers["ETag"]})
    assert code == 304 and body == b""
    code, _, _ = request(
        server, "GET", "/all.atom", {"If-Modified-Since": headers["Last-Modified"]}
    )
    assert code == 304
    first = feedparser.parse(f"{server.url}all.atom")
    again = feedparser.parse(f"{server.url}all.atom", etag=first.etag, modified=first.modified)
    assert first.status == 200 and again.status == 304
    write_article(content, "c.md", title="C", day="2025-01-01")
    generate_once(content, out, base_url=server.url)
    later = feedparser.parse(f"{server.url}all.atom", etag=first.etag, modified=first.modified)
    assert later.status == 200 and [e.title for e in later.entries] == ["C", "B", "A"]


def test_gzip_is_used_when_accepted(served):
    server, _, out = served
    code, headers, body = request(server, "GET", "/all.rss", {"Accept-Encoding": "gzip"})
    assert code == 200 and headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == (out / "all.rss").read_bytes()
    assert headers["Vary"] == "Accept-Encoding"
    code, _, _ = request(
        server, "GET", "/all.rss", {"Accept-Encoding": "gzip", "If-None-Match": headers["ETag"]}
    )
    assert code == 304
    _, plain, _ = request(server, "GET", "/all.rss", {"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in plain


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/topics/%2E%2E/%2E%2E/secret.txt",
        "/..%2fsecret.txt",
        "//etc/passwd",
        "/%2Fetc%2Fpasswd",
        "/.feedsync-status.json",
        "/topics/escape.rss",
        "/topics/",
        "/nothing.rss",
        "/%00.rss",
    ],
)
def test_nothing_outside_the_output_folder_or_hidden_can_be_reached(served, path):
    server, _, out = served
    (out.parent / "secret.txt").write_text("secret")
    (out / ".feedsync-status.json").write_text("{}")
    (out / "topics" / "escape.rss").symlink_to(out.parent / "secret.txt")
    code, _, body = request(server, "GET", path)
    assert code in (400, 404) and b"secret" not in body


def test_only_get_and_head_are_allowed(served):
    server, _, _ = served
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        code, headers, _ = request(server, method, "/all.rss")
        assert code == 405 and headers["Allow"] == "GET, HEAD"


def test_a_port_in_use_is_a_clear_error(served):
    from feedsync.errors import FeedsyncError

    server, _, out = served
    with pytest.raises(FeedsyncError, match="cannot serve"):
        Server(out, "127.0.0.1", server.port).start()


def test_run_serve_publishes_edits_to_a_polling_reader(tmp_path, write_article):
    """The issue's scenario: `feedsync run --serve`, a reader polls, edits arrive, 304s between."""
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="First")
    with feedsync_process(
        "run",
        "--serve",
        "127.0.0.1:0",
        "--content",
        str(content),
        "--output",
        str(out),
        stdout=(tmp_path / "log").open("w"),
        stderr=subprocess.STDOUT,
    ) as proc:
        wait_until(
            lambda: read_status(out).get("serving") and read_status(out).get("last_run"),
            20,
            "the server to start and the first run to end",
        )
        url = read_status(out)["serving"]
        first = feedparser.parse(url + "all.atom")
        assert first.status == 200 and [e.title for e in first.entries] == ["First"]
        assert feedparser.parse(url + "all.atom", etag=first.etag).status == 304
        write_article(content, "b.md", title="Second", day="2024-06-01")
        wait_until(
            lambda: (
                [e.title for e in feedparser.parse(url + "all.atom", etag=first.etag).entries]
                == ["Second", "First"]
            ),
            5,
            "the reader to see the new article",
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_a_feed_being_rewritten_is_never_served_torn(served):
    import threading

    from feedsync.writer import write_atomic

    server, _, out = served
    versions = [b"<rss>" + b"a" * 50_000 + b"</rss>", b"<rss>" + b"b" * 70_000 + b"</rss>"]
    stop = threading.Event()
    write_atomic(out / "all.rss", versions[1])

    def rewrite():
        i = 0
        while not stop.is_set():
            write_atomic(out / "all.rss", versions[i % 2])
            i += 1

    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        bodies = [request(server, "GET", "/all.rss")[2] for _ in range(300)]
    finally:
        stop.set()
        writer.join(10)
    assert [b[:40] for b in bodies if b not in versions] == []  # complete versions only
    assert len(set(bodies)) == 2  # both versions were seen while it was rewriting


def test_feedsync_serve_runs_until_sigterm(tmp_path, write_article):
    write_article(tmp_path / "in", "a.md", title="Served")
    generate_once(tmp_path / "in", tmp_path / "out")
    with feedsync_process(
        "serve", "--output", str(tmp_path / "out"), "--bind", "127.0.0.1:0", stderr=subprocess.PIPE
    ) as proc:
        line = proc.stderr.readline()
        assert line.startswith("Serving ") and " at http://127.0.0.1:" in line
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        assert [e.title for e in feedparser.parse(url + "all.rss").entries] == ["Served"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_connections_that_never_send_a_request_are_closed(tmp_path, write_article):
    import socket

    write_article(tmp_path / "in", "a.md")
    generate_once(tmp_path / "in", tmp_path / "out")
    server = Server(tmp_path / "out", "127.0.0.1", 0, idle_seconds=0.5)
    server.start()
    try:
        silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
        for sock in silent:
            sock.settimeout(10)
            assert sock.recv(1) == b""  # the server hung up on it
            sock.close()
        assert request(server, "GET", "/all.rss")[0] == 200
    finally:
        server.stop()
