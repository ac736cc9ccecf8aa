"""index.html in a real browser: Debian's headless chromium loads the page from `Server`.

Needs Debian's `chromium` on PATH (`.ci/run` installs it with fonts-dejavu-core); without it every
test here skips. Chromium runs with the flags this closed network needs (no background
networking, no component updates, no sync, no QUIC), `--no-sandbox` because tests run as root,
and a new empty profile in tmp_path; it is killed on timeout and nothing of it outlives a test.

The screenshot test keeps its picture in `test-artifacts/index.png` (ignored by git) and prints
the absolute path, so `pytest -s tests/test_browser.py` shows where to look.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import struct
import subprocess
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import lxml.html
import pytest

from feedsync.server import Server

from conftest import ROOT, generate_once, subscriptions, wait_until

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium on PATH (apt-get install chromium)"
)

TIMEOUT = 60  # seconds for one chromium run, start to exit
CLOSED_NETWORK_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
FEED_TYPES = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/feed+json",
}
SITE_TITLE = "feedsync"  # the default site_title
ARTIFACTS = ROOT / "test-artifacts"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- chromium ---------------------------------------------------------------------------------


def _leftovers(proc: subprocess.Popen[bytes], profile: Path) -> list[int]:
    """Live processes of chromium's own process group, or naming this test's profile: ours only."""
    marker = str(profile).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or entry.name == str(os.getpid()):
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        state, group = stat[0], int(stat[2])
        if state not in "ZX" and (group == proc.pid or marker in cmdline):
            pids.append(int(entry.name))
    return pids


def _kill_all(proc: subprocess.Popen[bytes], profile: Path) -> None:
    """SIGKILL every process chromium left behind, by its id."""
    for pid in _leftovers(proc, profile):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Headless chromium with a fresh profile; fails the test after TIMEOUT, leaving no process."""
    profile.mkdir(parents=True)
    cmd = [CHROMIUM, *CLOSED_NETWORK_FLAGS, f"--user-data-dir={profile}", *args]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_all(proc, profile)
        out, err = proc.communicate(timeout=10)
    finally:
        _kill_all(proc, profile)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        wait_until(
            lambda: not _leftovers(proc, profile),
            timeout=10,
            what=f"chromium processes of {profile} to end",
        )
    stderr_tail = "\n".join(err.decode(errors="replace").splitlines()[-20:])
    if timed_out:
        pytest.fail(f"chromium did not finish within {TIMEOUT}s: {cmd}\n{stderr_tail}")
    assert proc.returncode == 0, f"chromium exited {proc.returncode}: {cmd}\n{stderr_tail}"
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


# --- the site under test ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The seeds' output, generated for and served at a free loopback port; always stopped."""
    out = tmp_path_factory.mktemp("site") / "out"
    out.mkdir()
    before = set(threading.enumerate())
    server = Server(out, "127.0.0.1", 0)
    server.start()
    try:
        report = generate_once(ROOT / "seeds", out, base_url=server.url)
        assert not report.problems, [str(p) for p in report.problems]
        yield out, server.url
    finally:
        server.stop()
        left = [t for t in set(threading.enumerate()) - before if t.is_alive()]
        assert not left, f"threads still running after Server.stop(): {left}"


def fetch(url: str) -> tuple[int, str, bytes]:
    """GET from the loopback server: status, Content-Type, body."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", parts.path or "/")
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def feeds_in(folder: Path) -> list[str]:
    """Feed paths (`topics/ai`) of a folder of the output, one per feed whatever its formats."""
    return sorted({f"{folder.name}/{p.stem}" for p in folder.iterdir() if p.suffix in FEED_TYPES})


def section_rows(doc: lxml.html.HtmlElement, heading: str) -> list[lxml.html.HtmlElement]:
    tables = doc.xpath(
        "//h2[starts-with(normalize-space(), $h)]/following-sibling::table[1]", h=heading
    )
    assert len(tables) == 1, f"no table under a '{heading}' heading"
    return tables[0].xpath(".//tr[td]")


# --- tests ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index_dom(site, tmp_path_factory: pytest.TempPathFactory) -> lxml.html.HtmlElement:
    """The DOM chromium builds from the served index page (index.html at /)."""
    _, base = site
    profile = tmp_path_factory.mktemp("chromium") / "profile"
    return lxml.html.document_fromstring(run_chromium(profile, "--dump-dom", base).stdout)


def test_a_browser_finds_every_main_feed_through_autodiscovery(site, index_dom):
    _, base = site
    doc = index_dom
    assert doc.findtext(".//title") == f"{SITE_TITLE} — feeds"

    alternates = {
        link.get("type"): urljoin(base, link.get("href"))
        for link in doc.xpath("//head/link[@rel='alternate']")
    }
    assert sorted(alternates) == sorted(FEED_TYPES.values())
    for media_type, url in alternates.items():
        status, content_type, body = fetch(url)
        assert status == 200, url
        assert content_type.split(";")[0] == media_type, url
        assert body

    opml_links = {
        urljoin(base, href)
        for href in doc.xpath("//a/@href | //link/@href")
        if href.endswith(".opml")
    }
    assert opml_links == {urljoin(base, "feeds.opml")}
    status, content_type, body = fetch(urljoin(base, "feeds.opml"))
    assert (status, content_type.split(";")[0]) == (200, "text/x-opml")
    assert b"<opml" in body


@pytest.mark.parametrize("heading, folder", [("Topics", "topics"), ("Providers", "providers")])
def test_every_topic_and_provider_feed_is_a_row_of_the_page(site, index_dom, heading, folder):
    out, base = site
    rows = section_rows(index_dom, heading)

    expected = feeds_in(out / folder)
    assert expected, f"the seeds give no {folder} feeds"
    seen = []
    for row in rows:
        name, items, _newest, _formats = (cell.text_content().strip() for cell in row.xpath("td"))
        hrefs = {urljoin(base, a.get("href")): a.get("type") for a in row.xpath(".//a")}
        stems = {url.rsplit(".", 1)[0] for url in hrefs}
        assert len(stems) == 1, f"row {name!r} links to more than one feed: {sorted(hrefs)}"
        feed_path = unquote(stems.pop().removeprefix(base))
        seen.append(feed_path)
        for url, media_type in hrefs.items():
            status, content_type, _ = fetch(url)
            assert status == 200, url
            assert content_type.split(";")[0] == media_type, url
        json_feed = json.loads((out / f"{feed_path}.json").read_text(encoding="utf-8"))
        assert json_feed["title"] == f"{name} — {SITE_TITLE}"
        shown = len(json_feed["items"])
        assert items in (f"{shown} article{'' if shown == 1 else 's'}",) or items.endswith(
            f" · newest {shown} in the feed"
        ), items
    assert seen == expected, f"{heading} rows differ from the files in out/{folder}"


def png_pixels(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Width, height, bytes per pixel and unfiltered rows of an 8-bit RGB/RGBA PNG
    (non-interlaced)."""
    assert data.startswith(PNG_SIGNATURE)
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert (depth, interlace) == (8, 0) and colour in (2, 6), f"unexpected PNG header {header}"
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    prev, rows = bytearray(stride), []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + (left + prev[i]) // 2) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def test_the_index_page_renders_as_a_picture_with_content(site, tmp_path):
    """Keeps the screenshot in test-artifacts/index.png; `pytest -s` prints its path."""
    _, base = site
    ARTIFACTS.mkdir(exist_ok=True)
    path = (ARTIFACTS / "index.png").resolve()
    path.unlink(missing_ok=True)
    run_chromium(tmp_path / "profile", f"--screenshot={path}", "--window-size=1280,1600", base)
    print(f"screenshot: {path}")

    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 20_000, f"{len(data)} bytes: a blank page?"
    width, height, bpp, rows = png_pixels(data)
    assert (width, height) == (1280, 1600)
    pixels = [row[i : i + 3] for row in rows for i in range(0, len(row), bpp)]
    background = max(set(pixels[:width]), key=pixels[:width].count)  # the top row's colour
    drawn = sum(p != background for p in pixels)
    assert drawn > 0.01 * width * height, f"only {drawn} pixels differ from the background"
    assert len(set(pixels)) > 50, "too few colours for text, table shading and links"


# JavaScript run in the page itself: how wide the document is against the window, and every
# word (a run of non-space characters in a text node) whose boxes sit on more than one line.
# A compound may break after its hyphen ("solar-" / "powered"), as typesetting does: each part
# counts as a word of its own, and no part may break.
PROBE = """<script>
(() => {
  const split = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode()); ) {
    for (const m of node.data.matchAll(/[^\\s-]+-*|-+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const lines = new Set([...range.getClientRects()].filter(r => r.width > 0)
        .map(r => Math.round(r.top)));
      if (lines.size > 1) split.push(m[0]);
    }
  }
  parent.document.documentElement.dataset.probe = JSON.stringify({
    scrollWidth: document.documentElement.scrollWidth, innerWidth, split});
})();
</script>"""


PAGES = {"index": "index.html", "page": "topics/ai.html"}  # the listing and a feed's page


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("name", PAGES)
def test_the_pages_fit_the_screen_without_breaking_a_word(site, tmp_path, name, width):
    """Chromium lays index.html and a feed page out at a phone's and a desktop's width and a
    script in the page measures it. Headless chromium's window is at least 500 px wide, so the
    page is shown in a frame of exactly `width` px (the frame's viewport is what its media
    queries see). The served pages forbid scripts (Content-Security-Policy), so the measured
    copy is opened from the folder itself. Screenshots go to test-artifacts/NAME-WIDTH.png
    (`pytest -s` prints the paths)."""
    out, _ = site
    relative = PAGES[name]
    page = out / relative
    probe = page.with_name(f"probe-{width}-{page.name}")  # beside it: its links still resolve
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"))
    frame = out / f"frame-{name}-{width}.html"
    frame.write_text(
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<iframe src="{probe.relative_to(out).as_posix()}" width="{width}" height="1200"'
        ' style="border:0;display:block"></iframe></body></html>'
    )
    window = f"--window-size={max(width, 500)},1200"
    local = ("--allow-file-access-from-files", window)
    dom = run_chromium(tmp_path / "probe", *local, "--dump-dom", frame.as_uri())
    probe_data = lxml.html.document_fromstring(dom.stdout).get("data-probe")
    assert probe_data, f"the probe did not run in {relative}"
    measured = json.loads(probe_data)
    assert measured["innerWidth"] == width
    assert measured["scrollWidth"] <= measured["innerWidth"], f"{relative} overflows at {width}px"
    assert measured["split"] == [], f"words broken at {width}px in {relative}: {measured['split']}"

    ARTIFACTS.mkdir(exist_ok=True)
    shot = (ARTIFACTS / f"{name}-{width}.png").resolve()
    shot.unlink(missing_ok=True)
    run_chromium(tmp_path / "shot", *local, f"--screenshot={shot}", frame.as_uri())
    print(f"screenshot of {relative} at {width}px: {shot}")
    assert png_pixels(shot.read_bytes())[:2] == (max(width, 500), 1200)


def test_every_feed_name_on_the_index_opens_a_page_to_read_and_subscribe_from(
    site, index_dom, tmp_path
):
    """Each feed's name on index.html links to its page; chromium loads every page from the
    server (which forbids scripts and inline style) without a Content-Security-Policy
    complaint, and the page names the feed, shows its items and offers every format."""
    out, base = site
    names = index_dom.xpath("//td[@class='name']/a")
    assert len(names) == len(subscriptions(out)), "a feed without a linked name"
    for number, link in enumerate(names):
        url = urljoin(base, link.get("href"))
        status, content_type, _ = fetch(url)
        assert (status, content_type) == (200, "text/html; charset=utf-8"), url
        run = run_chromium(
            tmp_path / f"p{number}", "--enable-logging=stderr", "--v=0", "--dump-dom", url
        )
        log = run.stderr.decode(errors="replace")
        assert "Content Security Policy" not in log, f"{url}: {log}"
        doc = lxml.html.document_fromstring(run.stdout)
        feed_path = unquote(url.removeprefix(base)).removesuffix(".html")
        items = json.loads((out / f"{feed_path}.json").read_text(encoding="utf-8"))["items"]
        assert doc.xpath("string(//h1)") in (link.text_content(), SITE_TITLE)
        shown = [a.text_content() for a in doc.xpath("//li[@class='item']//h3/a")]
        assert shown == [item["title"] for item in items], url
        (address,) = doc.xpath("//input[@id='address']/@value")
        assert fetch(address)[:2] == (200, "application/atom+xml; charset=utf-8")
        offered = {
            urljoin(url, a.get("href")): a.get("type")
            for a in doc.xpath("//ul[@class='formats']//a")
        }
        discovered = {
            a.get("href"): a.get("type") for a in doc.xpath("//head/link[@rel='alternate']")
        }
        assert offered == discovered and sorted(offered.values()) == sorted(FEED_TYPES.values())
        for feed_url, media_type in offered.items():
            assert fetch(feed_url)[:2] == (200, f"{media_type}; charset=utf-8"), feed_url
        (sheet,) = doc.xpath("//head/link[@rel='stylesheet']/@href")
        assert fetch(urljoin(url, sheet))[:2] == (200, "text/css; charset=utf-8")
