"""Real consumers read what feedsync writes: sfeed, newsboat, nginx in front of the output folder,
and feedparser polling `feedsync serve` the way a reader's scheduler does.

Each test needs an outside program (Debian packages sfeed, newsboat, nginx) and skips, saying
which, when it is absent; `.ci/run` installs them.
"""

from __future__ import annotations

import gzip
import http.client
import os
import shutil
import socket
import sqlite3
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import pytest

from feedsync.server import CONTENT_SECURITY_POLICY, Server

from conftest import ROOT, generate_once, subscriptions, wait_until


@dataclass(frozen=True)
class Spec:
    """One article file and where it must show up."""

    name: str
    title: str
    when: str  # publishedDateTime as written in the file
    topics: tuple[str, ...]
    provider: str
    extra: tuple[tuple[str, Any], ...] = ()

    @property
    def link(self) -> str:
        return f"https://news.example.com/{self.name}"

    @property
    def image(self) -> str | None:
        """The lead image's URL, when the file has one."""
        images = dict(self.extra).get("images")
        return images[0]["url"] if images else None

    @property
    def epoch(self) -> int:
        return int(datetime.fromisoformat(self.when).timestamp())

    def feeds(self) -> set[str]:
        """Output paths (without extension) of the feeds that list this article."""
        return (
            {"all"}
            | {f"topics/{SLUGS[t]}" for t in self.topics}
            | {f"providers/{SLUGS[self.provider]}"}
        )


SLUGS = {
    "AI": "ai",
    "Robotics": "robotics",
    "Künstliche Intelligenz": "künstliche-intelligenz",
    "Tech Daily": "tech-daily",
    "Science Wire": "science-wire",
}

# Distinct titles and times; one with a +02:00 offset (UTC epoch must come out right), one with
# an updated time (readers must still show the published time), markup-significant characters.
ARTICLES = (
    Spec(
        "alpha",
        "Alpha: robots learn to fold laundry",
        "2024-05-01T09:15:00+00:00",
        ("Robotics",),
        "Tech Daily",
        (("images", [{"url": "https://img.example.com/alpha.png", "width": 640, "height": 360}]),),
    ),
    Spec("beta", "Beta models run on laptops", "2024-05-02T14:00:00+02:00", ("AI",), "Tech Daily"),
    Spec(
        "gamma",
        "Café robots & their AI",
        "2024-05-03T08:30:00+00:00",
        ("AI", "Robotics"),
        "Science Wire",
        (
            ("updatedDateTime", "2024-05-10T00:00:00Z"),
            ("images", [{"url": "https://img.example.com/gamma?w=800"}]),  # no extension, no size
        ),
    ),
    Spec(
        "delta",
        "Delta: chips for robot arms",
        "2024-04-20T18:45:00+00:00",
        ("Robotics", "Künstliche Intelligenz"),
        "Science Wire",
    ),
)
DRAFT = Spec(
    "draft",
    "Draft never shown",
    "2024-05-04T00:00:00+00:00",
    ("AI",),
    "Tech Daily",
    (("published", False),),
)
LATE = Spec("epsilon", "Epsilon arrives later", "2024-05-05T10:00:00+00:00", ("AI",), "Tech Daily")


def write(write_article, content: Path, spec: Spec) -> None:
    day, time = spec.when.split("T")
    write_article(
        content,
        f"{spec.name}.md",
        title=spec.title,
        day=day,
        time=time,
        link=spec.link,
        topics=list(spec.topics),
        provider=spec.provider,
        **dict(spec.extra),
    )


def expected(feed: str, specs=ARTICLES) -> list[Spec]:
    """What `feed` (e.g. "topics/ai") must list: its published articles, newest first."""
    return sorted((s for s in specs if feed in s.feeds()), key=lambda s: -s.epoch)


def needs(program: str) -> str:
    """The program's path (nginx lives in /usr/sbin, often not on a user's PATH), or a skip."""
    path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if path is None:
        pytest.skip(f"{program} is not installed (Debian package {program}; .ci/run installs it)")
    return path


@pytest.fixture
def site(tmp_path, write_article) -> Iterator[tuple[Path, Path]]:
    """Content folder with ARTICLES and a draft; returns (content, out); nothing generated yet."""
    content, out = tmp_path / "in", tmp_path / "out"
    for spec in (*ARTICLES, DRAFT):
        write(write_article, content, spec)
    out.mkdir()
    yield content, out


@pytest.fixture
def served(site) -> Iterator[tuple[Path, Path, Server]]:
    """The site generated with base_url = the URL `feedsync serve` listens on; always stopped."""
    content, out = site
    server = Server(out, "127.0.0.1", 0)
    server.start()
    try:
        report = generate_once(content, out, base_url=server.url)
        assert not report.problems
        yield content, out, server
    finally:
        server.stop()


# --- sfeed -------------------------------------------------------------------------------------


def test_sfeed_reads_every_rss_and_atom_feed_with_titles_links_and_published_times(site):
    """Needs `sfeed` (reads RSS/Atom on stdin, prints TAB-separated items: timestamp, title,
    link, content, content-type, id, author, enclosure, categories)."""
    sfeed = needs("sfeed")
    content, out = site
    generate_once(content, out, base_url="https://feeds.example.org/")
    feeds = sorted(
        {
            p.relative_to(out).with_suffix("").as_posix()
            for p in (*subscriptions(out, "*.rss"), *subscriptions(out))
        }
    )
    assert feeds == sorted(set().union(*(s.feeds() for s in ARTICLES)))
    for feed in feeds:
        ids: dict[str, list[str]] = {}
        for ext in ("rss", "atom"):
            path = out / f"{feed}.{ext}"
            run = subprocess.run(
                [sfeed], input=path.read_bytes(), capture_output=True, timeout=10, check=False
            )
            assert run.returncode == 0, (path, run.stderr)
            rows = [line.split("\t") for line in run.stdout.decode("utf-8").splitlines()]
            want = expected(feed)
            assert [r[1] for r in rows] == [s.title for s in want], path
            assert [r[2] for r in rows] == [s.link for s in want], path
            assert all(r[0] for r in rows), f"{path}: an item without a timestamp"
            assert [int(r[0]) for r in rows] == [s.epoch for s in want], path
            assert [r[6] for r in rows] == [s.provider for s in want], path  # author
            # The lead image is the enclosure sfeed records (and shows with its plumber).
            assert [r[7] for r in rows] == [s.image or "" for s in want], path
            for row, spec in zip(rows, want):
                assert row[4] == "html" and f"Read on {spec.provider}" in row[3], path
            ids[ext] = [r[5] for r in rows]
        assert ids["rss"] == ids["atom"] and all(ids["rss"]), f"{feed}: ids differ by format"


# --- newsboat ----------------------------------------------------------------------------------


def newsboat_reload(newsboat: str, tmp_path: Path, urls: Path, cache: Path, config: Path) -> None:
    """`newsboat -x reload` with a private home, config and cache, no proxy, at most 60 s."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        HOME=str(home),
        LANG="C.UTF-8",
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
    )
    run = subprocess.run(
        [newsboat, "-u", str(urls), "-c", str(cache), "-C", str(config), "-x", "reload"],
        env=env,
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def cached_items(cache: Path) -> list[tuple[str, str, str]]:
    """(feedurl, title, guid) of every item newsboat stored, newest first."""
    with sqlite3.connect(cache) as db:
        rows = db.execute(
            "SELECT feedurl, title, guid FROM rss_item WHERE deleted = 0 "
            "ORDER BY pubDate DESC, title"
        ).fetchall()
    db.close()
    return rows


def test_newsboat_subscribes_over_http_and_picks_up_a_new_article_once(
    tmp_path, served, write_article
):
    """Needs `newsboat`. Newsboat keys items by guid across all feeds and files each item
    under the feed that delivered it last (newsboat/newsboat#898), so with `reload-threads 1`
    and all.rss listed before topics/ai.atom, the AI articles end up under ai.atom and the rest
    under all.rss; every article once."""
    newsboat = needs("newsboat")
    content, out, server = served
    all_rss, ai_atom = f"{server.url}all.rss", f"{server.url}topics/ai.atom"
    urls, cache, config = tmp_path / "urls", tmp_path / "cache.db", tmp_path / "config"
    urls.write_text(f"{all_rss}\n{ai_atom}\n", encoding="utf-8")
    config.write_text("reload-threads 1\n", encoding="utf-8")

    def check(specs: tuple[Spec, ...]) -> None:
        items = cached_items(cache)
        by_feed = {url: [t for u, t, _ in items if u == url] for url in (all_rss, ai_atom)}
        assert by_feed[ai_atom] == [s.title for s in expected("topics/ai", specs)]
        assert by_feed[all_rss] == [s.title for s in expected("all", specs) if "AI" not in s.topics]
        assert {u for u, _, _ in items} == {all_rss, ai_atom}
        guids = [g for _, _, g in items]
        assert len(guids) == len(set(guids)) == len(specs)  # no duplicates
        assert set(guids) == {
            e.id for e in feedparser.parse((out / "all.rss").read_bytes()).entries
        }

    newsboat_reload(newsboat, tmp_path, urls, cache, config)
    check(ARTICLES)
    # Each item reads as a small article: its picture, the excerpt and a link to the source.
    # (newsboat 2.21 keeps only audio and video enclosures, so the image is in the content.)
    with sqlite3.connect(cache) as db:
        stored = dict(db.execute("SELECT title, content FROM rss_item WHERE deleted = 0"))
    db.close()
    for spec in ARTICLES:
        body = stored[spec.title]
        assert "An excerpt." in body and f">Read on {spec.provider}</a>" in body, body
        assert f'href="{spec.link}"' in body, body
        if spec.image:
            assert (
                f'<img src="{spec.image}"' in body
                and f'alt="{spec.title.replace("&", "&amp;")}"' in body
            ), body
        else:
            assert "<img" not in body, body

    write(write_article, content, LATE)
    generate_once(content, out, base_url=server.url)
    newsboat_reload(newsboat, tmp_path, urls, cache, config)
    check((*ARTICLES, LATE))
    assert [t for _, t, _ in cached_items(cache)].count(LATE.title) == 1


def test_newsboat_imports_the_opml_and_subscribes_to_every_feed(tmp_path, served):
    """Needs `newsboat`. `newsboat -i feeds.opml` is how a person subscribes to everything."""
    newsboat = needs("newsboat")
    _, out, server = served
    urls, cache, config = tmp_path / "urls", tmp_path / "cache.db", tmp_path / "config"
    urls.write_text("", encoding="utf-8")
    config.write_text("reload-threads 1\n", encoding="utf-8")
    opml = tmp_path / "feeds.opml"
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
        f"{server.url}feeds.opml", timeout=10
    ) as response:
        opml.write_bytes(response.read())
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(HOME=str(home), LANG="C.UTF-8")
    run = subprocess.run(
        [newsboat, "-u", str(urls), "-c", str(cache), "-C", str(config), "-i", str(opml)],
        env=env,
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    subscribed = [line.split()[0] for line in urls.read_text().splitlines() if line.strip()]
    feeds = sorted(p.relative_to(out).as_posix() for p in subscriptions(out))
    assert sorted(subscribed) == sorted(f"{server.url}{quote(f)}" for f in feeds)
    newsboat_reload(newsboat, tmp_path, urls, cache, config)
    titles = {t for _, t, _ in cached_items(cache)}
    assert titles == {s.title for s in ARTICLES}


# --- nginx -------------------------------------------------------------------------------------

CONF = ROOT / "contrib/nginx/feedsync.conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request without urllib's proxies or its exceptions for 304/4xx."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def answers(port: int) -> bool:
    try:
        return request(port, "GET", "/")[0] > 0
    except OSError:
        return False


@pytest.fixture
def nginx(tmp_path, site) -> Iterator[tuple[int, Path, Path]]:
    """nginx with contrib/nginx/feedsync.conf (root, listen, server_name substituted) over the
    generated site, every path inside tmp_path; yields (port, out, content); always stopped."""
    nginx = needs("nginx")
    if not Path("/etc/nginx/mime.types").exists():
        pytest.skip("/etc/nginx/mime.types is missing (Debian package nginx-common)")
    content, out = site
    generate_once(content, out, base_url="http://localhost/")
    port = free_port()
    text = CONF.read_text(encoding="utf-8")
    for old, new in (
        ("root /srv/feedsync/output;", f'root "{out}";'),
        ("listen 80;", f"listen 127.0.0.1:{port};"),
        ("server_name feeds.example.org;", "server_name localhost;"),
    ):
        assert text.count(old) == 1, f"{CONF.name}: expected one '{old}'"
        text = text.replace(old, new)
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "feedsync.conf").write_text(text, encoding="utf-8")
    temps = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read tmp_path (0700)
    main = prefix / "nginx.conf"
    main.write_text(
        f"""{user}worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} info;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {prefix / "access.log"};
{temps}
    include {prefix / "feedsync.conf"};
}}
""",
        encoding="utf-8",
    )
    args = [nginx, "-p", str(prefix), "-c", str(main), "-g", "daemon off;"]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30, check=False)
    assert check.returncode == 0 and "[warn]" not in check.stderr, check.stderr
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: proc.poll() is not None or answers(port), 10, "nginx to answer")
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        yield port, out, content
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdout:
            proc.stdout.close()


@pytest.mark.parametrize(
    "path, media",
    [
        ("/all.rss", "application/rss+xml"),
        ("/all.atom", "application/atom+xml"),
        ("/topics/ai.atom", "application/atom+xml"),
        ("/providers/science-wire.rss", "application/rss+xml"),
        ("/topics/k%C3%BCnstliche-intelligenz.rss", "application/rss+xml"),  # as in self links
        ("/all.json", "application/feed+json"),
        ("/feeds.opml", "text/x-opml"),
        ("/index.html", "text/html"),
        ("/", "text/html"),
        ("/topics/ai.html", "text/html"),
        ("/feeds.css", "text/css"),
    ],
)
def test_nginx_serves_each_file_with_its_type_in_utf8_and_validators(nginx, path, media):
    """Needs `nginx` (and /etc/nginx/mime.types): contrib/nginx/feedsync.conf as shipped."""
    port, out, _ = nginx
    code, headers, body = request(port, "GET", path)
    assert code == 200
    assert headers["Content-Type"].split(";")[0].strip() == media
    assert "charset=utf-8" in headers["Content-Type"].replace(" ", "").lower()
    assert body == (out / (urllib.parse.unquote(path).strip("/") or "index.html")).read_bytes()
    assert headers["ETag"] and headers["Last-Modified"]
    assert headers["Cache-Control"] == "public, max-age=60"
    # The pages work behind the policy feedsync serve sends too (checked in chromium there).
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    code, headers, body = request(port, "HEAD", path)
    assert code == 200 and body == b"" and headers["ETag"]


def test_nginx_answers_revalidation_with_304(nginx):
    """Needs `nginx`: a reader's conditional GET by ETag or by Last-Modified costs no body."""
    port, out, content = nginx
    code, headers, _ = request(port, "GET", "/all.rss")
    assert code == 200
    etag, modified = headers["ETag"], headers["Last-Modified"]
    code, headers, body = request(port, "GET", "/all.rss", {"If-None-Match": etag})
    assert (code, body) == (304, b"") and headers["ETag"] == etag
    code, _, body = request(port, "GET", "/all.rss", {"If-Modified-Since": modified})
    assert (code, body) == (304, b"")
    # README: an unchanged feed is not rewritten, so the web server's validators stay.
    generate_once(content, out, base_url="http://localhost/")
    assert request(port, "GET", "/all.rss", {"If-None-Match": etag})[0] == 304
    assert request(port, "GET", "/all.rss", {"If-Modified-Since": modified})[0] == 304
    assert request(port, "GET", "/all.rss", {"If-None-Match": '"other"'})[0] == 200


def test_nginx_gzips_feeds_for_clients_that_accept_it(nginx):
    """Needs `nginx`: feeds are compressed on request, and only then."""
    port, out, _ = nginx
    for path in ("/all.rss", "/all.atom", "/all.json", "/feeds.opml"):
        code, headers, body = request(port, "GET", path, {"Accept-Encoding": "gzip"})
        assert code == 200 and headers["Content-Encoding"] == "gzip", path
        assert gzip.decompress(body) == (out / path.lstrip("/")).read_bytes()
        assert "Accept-Encoding" in headers.get("Vary", "")
    assert request(port, "GET", "/all.rss")[1]["Content-Encoding"] is None


def test_nginx_hides_dotfiles_and_refuses_writes(nginx):
    """Needs `nginx`: the status file and temp files stay private; the site is read-only."""
    port, out, _ = nginx
    (out / ".feedsync-status.json").write_text('{"state": "running"}', encoding="utf-8")
    (out / "topics" / ".feedsync-tmp-x").write_text("half", encoding="utf-8")
    for path in ("/.feedsync-status.json", "/topics/.feedsync-tmp-x", "/nothing.rss", "/topics/"):
        code, _, body = request(port, "GET", path)
        assert code in (403, 404), path
        assert b"running" not in body and b"half" not in body
    for method in ("POST", "PUT", "DELETE"):
        code, _, _ = request(port, method, "/all.rss", body=b"x=1")
        assert code in (403, 405), method
    assert (out / "all.rss").read_bytes().startswith(b"<?xml")


# --- feedparser polling feedsync serve ----------------------------------------------------------

NO_PROXY = [urllib.request.ProxyHandler({})]


@pytest.mark.parametrize("feed", ["all.rss", "all.atom", "topics/ai.atom"])
def test_feedparser_polls_feedsync_serve_with_etag_and_last_modified(served, write_article, feed):
    """Needs only feedparser: the conditional polling loop of a real reader against `serve`."""
    content, out, server = served
    url = server.url + feed
    first = feedparser.parse(url, handlers=NO_PROXY)
    assert first.status == 200 and not first.bozo
    assert [e.title for e in first.entries] == [s.title for s in expected(feed.rsplit(".", 1)[0])]
    assert first.etag and first.modified
    again = feedparser.parse(url, etag=first.etag, modified=first.modified, handlers=NO_PROXY)
    assert again.status == 304 and again.entries == []

    write(write_article, content, LATE)
    generate_once(content, out, base_url=server.url)
    changed = feedparser.parse(url, etag=first.etag, modified=first.modified, handlers=NO_PROXY)
    assert changed.status == 200 and not changed.bozo
    assert [e.title for e in changed.entries] == [
        s.title for s in expected(feed.rsplit(".", 1)[0], (*ARTICLES, LATE))
    ]
    assert changed.etag != first.etag
