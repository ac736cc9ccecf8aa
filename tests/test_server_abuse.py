"""feedsync serve under abuse: oversized and odd requests, traversal tricks, load, slowloris.

Every test serves a generated output folder on a free loopback port and always stops the
server. Files beside the output folder hold SECRET; no answer may ever contain it. A raw
exchange must end in an answer (a status line) or a closed connection within the server's idle
limit and some slack: a server that just hangs fails, and tests against a loopback peer that
hangs show that it does. Figures (requests, completed, failed, seconds) are printed for the
record (`pytest -s` shows them).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import re
import resource
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from feedsync.server import IDLE_SECONDS, Server

from conftest import generate_once

SECRET = "feedsync-secret-5e1d0c7a"  # the content of every file outside the output folder
HOST = "127.0.0.1"
GET_ALL = b"GET /all.rss HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


SLACK = 4.0  # seconds beyond its idle limit a correct server may take to answer or hang up
SHORT_IDLE = 1.0  # the idle limit where a case may need it: the server hangs up sooner


@contextlib.contextmanager
def serving(
    tmp_path: Path, write_article: Callable[..., Path], idle_seconds: float = IDLE_SECONDS
) -> Iterator[tuple[Server, Path]]:
    """Feeds for three articles served from tmp/out; secrets beside it; always stopped."""
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A", topics=["AI", "Künstliche Intelligenz"])
    write_article(content, "b.md", title="B", day="2024-06-01", excerpt="B " * 300)
    write_article(content, "c.md", title="C", day="2024-07-01", provider="Other News")
    generate_once(content, out)
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    (content / "secret.md").write_text(SECRET + "\n")
    private = tmp_path / "out-private"  # shares the output folder's name as a prefix
    private.mkdir()
    (private / "all.rss").write_text(SECRET + "\n")
    server = Server(out, HOST, 0, idle_seconds=idle_seconds)
    server.start()
    try:
        yield server, out
    finally:
        server.stop()


@pytest.fixture
def served(tmp_path: Path, write_article: Callable[..., Path]) -> Iterator[tuple[Server, Path]]:
    """The server as shipped, with its own idle limit."""
    with serving(tmp_path, write_article) as it:
        yield it


@pytest.fixture
def served_short_idle(
    tmp_path: Path, write_article: Callable[..., Path]
) -> Iterator[tuple[Server, Path]]:
    """As `served`, but a connection idle for SHORT_IDLE s is closed: a request the server waits
    on for ever (an HTTP/0.9 line, blank lines) ends in a hang-up in seconds, not in 15."""
    with serving(tmp_path, write_article, idle_seconds=SHORT_IDLE) as it:
        yield it


def exchange(port: int, data: bytes, within: float | None = None) -> bytes:
    """Send raw bytes, then read until the server closes: all that it answered.

    A correct server answers (a status line) or hangs up within `within` s of the request being
    sent (default: its idle limit plus SLACK); one that does neither hangs, and that fails here
    (AssertionError), never passing for a closed connection. A status line followed by silence
    is a kept-alive connection: reading stops at `within` and the answer stands.
    """
    if within is None:
        within = IDLE_SECONDS + SLACK
    chunks: list[bytes] = []
    closed = False
    with socket.create_connection((HOST, port), timeout=within) as sock:
        # The server may answer and close before reading it all, or answer and stop reading.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
            sock.sendall(data)
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            chunks.append(chunk)
    answer = b"".join(chunks)
    assert closed or status_of(answer) is not None, (
        f"the server hangs: no status line and no hang-up within {within:g} s"
        f" of {data[:40]!r}; it sent {answer[:100]!r}"
    )
    return answer


def status_of(answer: bytes) -> int | None:
    """The status code of a raw HTTP answer, or None when the connection closed without one."""
    match = re.match(rb"HTTP/\d(?:\.\d)? (\d{3}) ", answer)
    return int(match.group(1)) if match else None


def get(server: Server, path: str, method: str = "GET") -> tuple[int, bytes]:
    """One request through http.client, which sends `path` exactly as given."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def assert_still_serving(server: Server, out: Path) -> None:
    assert get(server, "/all.rss") == (200, (out / "all.rss").read_bytes())


# --- oversized requests ---------------------------------------------------------------------

OVERSIZED = {
    "a 100 kB header value": b"GET /all.rss HTTP/1.1\r\nHost: x\r\nX-Big: "
    + b"a" * 100_000
    + b"\r\nConnection: close\r\n\r\n",
    "500 headers": b"GET /all.rss HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-Header-%d: value\r\n" % i for i in range(500))
    + b"Connection: close\r\n\r\n",
    "a 100 kB header name": b"GET /all.rss HTTP/1.1\r\nHost: x\r\n"
    + b"X" * 100_000
    + b": v\r\nConnection: close\r\n\r\n",
    "a 100 kB request line": b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "a 1 MB header block": b"GET /all.rss HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 8000) for i in range(128))
    + b"\r\n",
}


@pytest.mark.parametrize("request_bytes", OVERSIZED.values(), ids=OVERSIZED.keys())
def test_oversized_requests_get_a_4xx_or_a_closed_connection_and_serving_goes_on(
    served_short_idle: tuple[Server, Path], request_bytes: bytes
) -> None:
    server, out = served_short_idle
    answer = exchange(server.port, request_bytes)
    status = status_of(answer)
    print(f"\n{len(request_bytes)} bytes of request -> {status or 'closed'}")
    assert status is None or 400 <= status < 500, answer[:200]
    assert_still_serving(server, out)


# --- odd methods and request lines ----------------------------------------------------------

ODD = {
    "PROPFIND": b"PROPFIND / HTTP/1.1\r\nHost: x\r\nDepth: infinity\r\nConnection: close\r\n\r\n",
    "TRACE": b"TRACE /all.rss HTTP/1.1\r\nHost: x\r\nCookie: session="
    + SECRET.encode()
    + b"\r\nConnection: close\r\n\r\n",
    "OPTIONS": b"OPTIONS /all.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "OPTIONS *": b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "CONNECT": b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\nConnection: close\r\n\r\n",
    "CONNECT garbage": b"CONNECT\r\n\r\n",
    "CONNECT to a path": b"CONNECT /../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    "PUT": b"PUT /all.rss HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
    b"owned",
    "DELETE": b"DELETE /all.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "POST with a body": b"POST /all.rss HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
    b"Connection: close\r\n\r\n" + b"x" * 100_000,
    "lower-case get": b"get /all.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "a 10 kB method": b"X" * 10_000 + b" / HTTP/1.1\r\nHost: x\r\n\r\n",
    "HTTP/9.9": b"GET /all.rss HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n",
    "HTTP/0.9 style": b"GET /\r\n",
    "HTTP/0.9 style, blank line": b"GET /all.rss\r\n\r\n",
    "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "TLS client hello": bytes.fromhex("16030100a5010000a10303") + bytes(range(32)) + b"\r\n\r\n",
    "binary noise": bytes(range(256)) * 4,
    "only CRLFs": b"\r\n" * 1000,
    "smuggling": b"GET /all.rss HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /../secret.txt HTTP/1.1\r\n\r\n",
}


@pytest.mark.parametrize("request_bytes", ODD.values(), ids=ODD.keys())
def test_odd_methods_and_request_lines_never_crash_it_or_leak_a_file(
    served_short_idle: tuple[Server, Path], request_bytes: bytes
) -> None:
    server, out = served_short_idle
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    answer = exchange(server.port, request_bytes)
    status = status_of(answer)
    print(f"\n{request_bytes[:30]!r} -> {status or 'closed'}")
    assert SECRET.encode() not in answer
    assert status is None or status < 500, answer[:300]
    method = request_bytes.split(b" ", 1)[0]
    if method not in (b"GET", b"HEAD"):
        assert status is None or not 200 <= status < 300, answer[:300]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert_still_serving(server, out)


# --- the check itself: a peer that hangs fails it -------------------------------------------


class LoopbackPeer:
    """A plain TCP peer on 127.0.0.1: accepts, reads and discards everything, sends `reply` once
    after a connection's first bytes (nothing by default) and never closes a connection until
    stopped. With no reply it is a server that hangs, as a client sees one."""

    def __init__(self, reply: bytes = b"") -> None:
        self.reply = reply
        self.listener = socket.create_server((HOST, 0))
        self.port: int = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="loopback-peer", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        held: list[socket.socket] = []  # kept open, never closed, until stopped
        deadline = time.monotonic() + 120  # never outlive a test that failed to stop it
        with selectors.DefaultSelector() as selector:
            selector.register(self.listener, selectors.EVENT_READ)
            while not self._stop.is_set() and time.monotonic() < deadline:
                for key, _ in selector.select(timeout=0.05):
                    if key.fileobj is self.listener:
                        conn, _ = self.listener.accept()
                        conn.setblocking(False)
                        held.append(conn)
                        selector.register(conn, selectors.EVENT_READ, data=[bool(self.reply)])
                        continue
                    conn, pending = key.fileobj, key.data
                    try:
                        data = conn.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data:  # the client hung up: nothing more to read, still not closed
                        selector.unregister(conn)
                    elif pending[0]:
                        pending[0] = False
                        conn.send(self.reply)
        for conn in held:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()


@pytest.fixture
def loopback_peer() -> Iterator[Callable[[bytes], LoopbackPeer]]:
    """Start peers on free loopback ports (`loopback_peer(reply)`); all are always stopped."""
    peers: list[LoopbackPeer] = []

    def start(reply: bytes = b"") -> LoopbackPeer:
        peers.append(LoopbackPeer(reply))
        return peers[-1]

    try:
        yield start
    finally:
        for peer in peers:
            peer.stop()


# The cases the server as shipped answers only by hanging up at its idle limit (or answers and
# keeps alive), and the largest request; a peer that hangs must fail every one.
HUNG_ON = {
    "HTTP/0.9 style": ODD["HTTP/0.9 style"],
    "only CRLFs": ODD["only CRLFs"],
    "CONNECT to a path": ODD["CONNECT to a path"],
    "a 1 MB header block": OVERSIZED["a 1 MB header block"],
}


@pytest.mark.parametrize("request_bytes", HUNG_ON.values(), ids=HUNG_ON.keys())
@pytest.mark.parametrize("reply", [b"", b"\x00garbage, no status line"], ids=["silent", "garbage"])
def test_a_peer_that_neither_answers_nor_hangs_up_fails_the_check(
    loopback_peer: Callable[[bytes], LoopbackPeer], request_bytes: bytes, reply: bytes
) -> None:
    peer = loopback_peer(reply)
    start = time.monotonic()
    with pytest.raises(AssertionError, match="the server hangs"):
        exchange(peer.port, request_bytes, within=0.5)
    assert time.monotonic() - start < 5  # bounded: the check gives up, it does not wait for ever


def test_a_peer_that_answers_and_keeps_the_connection_open_passes_the_check(
    loopback_peer: Callable[[bytes], LoopbackPeer],
) -> None:
    peer = loopback_peer(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    assert status_of(exchange(peer.port, ODD["HTTP/0.9 style"], within=0.5)) == 400


# --- traversal ------------------------------------------------------------------------------

# Sent by http.client exactly as written; every one aims outside the output folder.
TRAVERSAL_PATHS = [
    "/../secret.txt",
    "/../../secret.txt",
    "/topics/../../secret.txt",
    "//../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/%2E%2E%2Fsecret.txt",
    "/..%2fsecret.txt",
    "/.%2e/secret.txt",
    "/%2e./secret.txt",
    "/%252e%252e/secret.txt",
    "/%252e%252e%252fsecret.txt",
    "/..\\secret.txt",
    "/..%5csecret.txt",
    "/%5c..%5csecret.txt",
    "/./../secret.txt",
    "/./.././secret.txt",
    "/..;/secret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/..%c0%afsecret.txt",
    "/..%00/secret.txt",
    "/secret.txt%00.rss",
    "/../out-private/all.rss",
    "/..%2fout-private%2fall.rss",
    "/../in/secret.md",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/../../../../../../etc/passwd",
]
# Raw request lines http.client would refuse or rewrite.
TRAVERSAL_LINES = [
    b"GET http://evil/../../etc/passwd HTTP/1.1",
    b"GET http://evil/../../secret.txt HTTP/1.1",
    b"GET http://evil/%2e%2e/%2e%2e/secret.txt HTTP/1.1",
    b"GET http://127.0.0.1/../out-private/all.rss HTTP/1.1",
    b"GET ../secret.txt HTTP/1.1",
    b"GET \\..\\secret.txt HTTP/1.1",
    b"GET /all.rss\x00/../../secret.txt HTTP/1.1",
    b"GET /..\x00/secret.txt HTTP/1.1",
    b"GET /\x2e\x2e/secret.txt HTTP/1.0",
]


def assert_refused(status: int | None, body: bytes) -> None:
    assert status in (400, 404), f"{status}: {body[:200]!r}"
    assert SECRET.encode() not in body
    assert b"root:" not in body


@pytest.mark.parametrize("path", TRAVERSAL_PATHS)
def test_traversal_paths_are_refused_and_nothing_outside_is_served(
    served: tuple[Server, Path], path: str
) -> None:
    server, _ = served
    for method in ("GET", "HEAD"):
        assert_refused(*get(server, path, method))


def test_absolute_paths_of_files_outside_are_refused(served: tuple[Server, Path]) -> None:
    server, out = served
    secret = out.parent / "secret.txt"
    for path in (str(secret), "/" + str(secret), str(secret).replace("/", "%2f")):
        assert_refused(*get(server, path if path.startswith("/") else "/" + path))


@pytest.mark.parametrize("line", TRAVERSAL_LINES)
def test_traversal_request_lines_are_refused_and_nothing_outside_is_served(
    served: tuple[Server, Path], line: bytes
) -> None:
    server, out = served
    answer = exchange(server.port, line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert_refused(status_of(answer), answer)
    assert_still_serving(server, out)


# --- load -----------------------------------------------------------------------------------


@contextlib.contextmanager
def descriptors(need: int) -> Iterator[None]:
    """Room for `need` open files (a connection costs two: client and server share this process);
    raises the soft RLIMIT_NOFILE to the hard limit for the duration, or skips."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        yield
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {need}: cannot hold the connections")
    resource.setrlimit(
        resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 4 * need, hard)
    )
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def fetch(port: int, request: bytes, timeout: float) -> bytes:
    """One connection: send `request`, read until the server closes it."""

    async def go() -> bytes:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(request)
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    return await asyncio.wait_for(go(), timeout)


def split_response(answer: bytes) -> tuple[int | None, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status_of(answer), headers, body


def test_two_thousand_concurrent_connections_all_get_the_exact_feed(
    served: tuple[Server, Path],
) -> None:
    server, out = served
    expected = (out / "all.rss").read_bytes()
    sent, limit = 2000, 30.0

    async def run() -> tuple[list[bytes | BaseException], float]:
        start = time.monotonic()
        results = await asyncio.gather(
            *(fetch(server.port, GET_ALL, limit - 2) for _ in range(sent)), return_exceptions=True
        )
        return results, time.monotonic() - start

    with descriptors(2 * sent + 1000):
        results, seconds = asyncio.run(run())
    answers = [r for r in results if isinstance(r, bytes) and status_of(r) is not None]
    errors: dict[str, int] = {}
    for r in results:
        if not (isinstance(r, bytes) and status_of(r) is not None):
            kind = type(r).__name__ if isinstance(r, BaseException) else "no answer"
            errors[kind] = errors.get(kind, 0) + 1
    print(
        f"\nload: {sent} requests sent, {len(answers)} completed, {sent - len(answers)} failed"
        f" {errors or ''}, {seconds:.1f} s"
    )
    wrong = [
        split_response(a)[:2]
        for a in answers
        if split_response(a)[0] != 200 or split_response(a)[2] != expected
    ]
    assert not wrong, f"{len(wrong)} answers were not 200 with the exact file, e.g. {wrong[:3]}"
    assert all(split_response(a)[1].get("content-length") == str(len(expected)) for a in answers)
    assert len(answers) >= 0.95 * sent, f"only {len(answers)} of {sent} completed"
    assert seconds < limit + 5
    assert_still_serving(server, out)


def test_five_hundred_silent_connections_do_not_stop_a_normal_client(
    served: tuple[Server, Path],
) -> None:
    server, out = served
    expected = (out / "all.rss").read_bytes()
    idle = 500

    async def run() -> tuple[int, float, bytes]:
        opened = await asyncio.gather(
            *(
                asyncio.wait_for(asyncio.open_connection(HOST, server.port), 10)
                for _ in range(idle)
            ),
            return_exceptions=True,
        )
        writers = [w for r in opened if not isinstance(r, BaseException) for w in r[1:]]
        try:
            for i, writer in enumerate(writers):  # half send nothing, half a partial request
                if i % 2:
                    writer.write(b"GET /all.rss HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            await asyncio.gather(*(w.drain() for w in writers))
            await asyncio.sleep(0.5)
            start = time.monotonic()
            answer = await fetch(server.port, GET_ALL, 10)
            return len(writers), time.monotonic() - start, answer
        finally:
            for writer in writers:
                writer.close()

    with descriptors(2 * idle + 500):
        opened, seconds, answer = asyncio.run(run())
    status, _, body = split_response(answer)
    print(
        f"\nslowloris: {idle} silent connections tried, {opened} open;"
        f" a normal GET answered {status} in {seconds * 1000:.0f} ms"
    )
    assert opened >= 0.95 * idle
    assert status == 200 and body == expected
    assert_still_serving(server, out)
