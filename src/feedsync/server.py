"""Read-only HTTP over the output folder (aiohttp): what a feed reader needs, nothing more.

GET and HEAD; the right media types; strong ETags and Last-Modified with 304 answers; gzip when
the client accepts it; no path outside the output folder (encoded `..`, symlinks, absolute
paths) and no hidden file (status, temp files) can be reached. A file is read through one open
descriptor, and feedsync replaces files by rename, so a response is never a torn feed.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from aiohttp import web

from feedsync import formats
from feedsync.errors import FeedsyncError

log = logging.getLogger(__name__)

OTHER_MEDIA_TYPES = {  # besides the feed formats, which the format table names
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".svg": "image/svg+xml",
}
CACHE_CONTROL = "public, max-age=60"  # readers revalidate cheaply with ETag after a minute
# The pages need nothing but their own stylesheet and the articles' images: no script, no
# inline style, no forms, no frames (contrib/nginx/feedsync.conf sends the same).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src * data:; base-uri 'none';"
    " form-action 'none'; frame-ancestors 'none'"
)
MAX_FILE_BYTES = 64 * 1024 * 1024
GZIP_MIN_BYTES = 256
ALLOW = "GET, HEAD"
IDLE_SECONDS = 15.0


def resolve(root: Path, url_path: str) -> Path | None:
    """The file a (decoded) URL path names inside `root`, or None if it must not be served."""
    if "\x00" in url_path or "\\" in url_path:
        return None
    parts = [p for p in url_path.split("/") if p]
    if any(p in (".", "..") or p.startswith(".") for p in parts):
        return None
    base = root.resolve()
    target = base.joinpath(*parts) if parts else base
    if target.is_dir():
        target = target / "index.html"
    try:
        real = target.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(base) or not real.is_file():
        return None
    return real


class _Entry:
    __slots__ = ("data", "etag", "gzipped", "modified", "mtime")

    def __init__(self, data: bytes, mtime: float) -> None:
        self.data = data
        self.mtime = int(mtime)
        self.modified = formatdate(self.mtime, usegmt=True)
        self.etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        self.gzipped: bytes | None = None


class Files:
    """Reads a file whole through one descriptor and remembers its ETag and gzip by version.

    The file is always read (feeds are small): a cached entry is reused only when its bytes are
    identical, since a replaced file can get a recycled inode with the same size and a coarse
    mtime within the same tick.
    """

    def __init__(self, root: Path, cache_size: int = 4096) -> None:
        self.root = root
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[int, int, int, int], _Entry] = OrderedDict()

    def read(self, path: Path) -> _Entry | None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if st.st_size > MAX_FILE_BYTES:
                return None
            with os.fdopen(os.dup(fd), "rb") as f:
                data = f.read()
        finally:
            os.close(fd)
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        entry = self._cache.get(key)
        if entry is not None and entry.data == data:
            self._cache.move_to_end(key)
            return entry
        entry = self._cache[key] = _Entry(data, st.st_mtime)
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return entry


def _accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip()
            return not (q.startswith("q=") and q[2:].strip() in ("0", "0.0", "0.00", "0.000"))
    return False


def _not_modified(request: web.Request, etags: tuple[str, ...], mtime: int) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since."""
    inm = request.headers.get("If-None-Match")
    if inm is not None:
        if inm.strip() == "*":
            return True
        given = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return any(e in given for e in etags)
    ims = request.headers.get("If-Modified-Since")
    if ims:
        try:
            return mtime <= parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
    return False


def media_type(suffix: str) -> str:
    """What a file with this suffix is served as: a feed format's type, a known other, bytes."""
    for fmt in formats.FORMATS.values():
        if fmt.suffix == suffix:
            return f"{fmt.media_type}; charset=utf-8"
    return OTHER_MEDIA_TYPES.get(suffix, "application/octet-stream")


def make_app(root: Path) -> web.Application:
    files = Files(root)

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, headers={"Allow": ALLOW}, text="405: GET or HEAD\n")
        path = resolve(root, request.path)
        entry = files.read(path) if path is not None else None
        if path is None or entry is None:
            return web.Response(
                status=404, text="404: not found\n", headers={"Cache-Control": "no-cache"}
            )
        media = media_type(path.suffix.lower())
        use_gzip = (
            len(entry.data) >= GZIP_MIN_BYTES
            and "charset" in media
            and _accepts_gzip(request.headers.get("Accept-Encoding", ""))
        )
        etag = entry.etag[:-1] + '-gz"' if use_gzip else entry.etag
        headers = {
            "ETag": etag,
            "Last-Modified": entry.modified,
            "Cache-Control": CACHE_CONTROL,
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        }
        if _not_modified(request, (entry.etag, entry.etag[:-1] + '-gz"'), entry.mtime):
            return web.Response(status=304, headers=headers)
        body = entry.data
        if use_gzip:
            if entry.gzipped is None:
                entry.gzipped = gzip.compress(entry.data, compresslevel=6, mtime=0)
            body = entry.gzipped
            headers["Content-Encoding"] = "gzip"
        headers["Content-Type"] = media
        return web.Response(body=body, headers=headers)

    app = web.Application(client_max_size=1024)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


class Server:
    """The HTTP server on its own thread and event loop, so the daemon and CLI stay plain."""

    def __init__(
        self,
        root: Path,
        host: str = "127.0.0.1",
        port: int = 8080,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.root = root
        self.idle_seconds = idle_seconds
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> None:
        """Bind and serve; raises FeedsyncError when the address cannot be used."""
        self._thread = threading.Thread(target=self._serve, name="feedsync-http", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            self._thread.join(5)
            raise FeedsyncError(f"cannot serve on {self.host}:{self.port}: {self._error}")
        log.info("serving %s at %s", self.root, self.url)

    def _serve(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            # A connection idle for idle_seconds (also one that never sends a request) is
            # closed, so silent clients cannot hold the process's file descriptors for an hour.
            self._runner = web.AppRunner(
                make_app(self.root),
                access_log=None,
                handle_signals=False,
                shutdown_timeout=2,
                keepalive_timeout=self.idle_seconds,
            )
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
            loop.run_until_complete(site.start())
            if self._runner.addresses:  # learn the port the system chose for port 0
                self.port = self._runner.addresses[0][1]
        except OSError as exc:
            self._error = exc
            self._ready.set()
            loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
