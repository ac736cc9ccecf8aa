"""formats: one table of output formats that every stage reads; a new format is one module.

A further format here ("JSON Lines", one JSON object per item) is written the way a real one
would be: a writer with `entry` and `document`, and one line in the table. Nothing else in
feedsync is told about it, yet it is validated in the settings, pre-rendered, written,
listed, served, announced to the hub, kept quiet on a no-op run and removed with its feed.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from feedsync import config, formats, websub
from feedsync.errors import FeedsyncError
from feedsync.formats import Format, Site
from feedsync.model import Article, Feed
from feedsync.server import Server

from conftest import generate_once


class LinesWriter:
    """JSON Lines: the feed's title on the first line, then one object per item."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def entry(self, article: Article, names: tuple[str, ...]) -> bytes:
        item = {"id": article.id, "title": article.title, "url": article.link, "tags": names}
        return json.dumps(item, ensure_ascii=False).encode("utf-8")

    def document(self, feed: Feed, entries: Sequence[bytes]) -> bytes:
        head = json.dumps({"feed": feed.name or self.site.title}, ensure_ascii=False)
        return b"\n".join((head.encode("utf-8"), *entries)) + b"\n"


LINES = Format("lines", "JSON Lines", ".jsonl", "application/jsonl", LinesWriter)


@pytest.fixture
def with_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The table with a further format added: the one line a new format needs."""
    monkeypatch.setitem(formats.FORMATS, "lines", LINES)
    yield


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_table_names_each_format_once_with_its_own_suffix_and_media_type() -> None:
    table = formats.FORMATS
    assert list(table) == ["rss", "atom", "json", "html"]  # the order feeds are offered in
    assert all(name == f.name for name, f in table.items())
    assert len({f.suffix for f in table.values()}) == len(table)
    assert {f.media_type for f in table.values()} == {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "text/html",
    }
    assert formats.feeds(table) == ("rss", "atom", "json")  # the page is for people
    assert config.Config().formats == tuple(table)  # every format by default
    assert formats.outline_format(["rss", "json", "atom"]) == "atom"


def test_a_format_not_in_the_table_is_a_settings_error_naming_the_choices() -> None:
    with pytest.raises(FeedsyncError, match=r"formats: unknown \['lines'\]"):
        config.load(None, {"formats": ["rss", "lines"]})


def test_a_new_format_is_one_module_and_one_line_in_the_table(
    tmp_path: Path, write_article, with_lines: None
) -> None:
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="Älpha <b>", topics=["AI"], day="2024-05-02")
    write_article(content, "b.md", title="Beta", topics=["AI", "Space"])
    settings = {"formats": ["rss", "atom", "json", "lines"], "base_url": "https://f.example/"}

    report = generate_once(content, out, **settings)
    everything = lines(out / "all.jsonl")
    assert everything[0] == {"feed": "feedsync"}
    assert [(i["title"], i["tags"]) for i in everything[1:]] == [
        ("Älpha <b>", ["AI"]),
        ("Beta", ["AI", "Space"]),
    ]
    assert lines(out / "topics/ai.jsonl") == [{"feed": "AI"}, *everything[1:]]
    assert [item.get("title") for item in lines(out / "topics/space.jsonl")] == [None, "Beta"]
    assert "providers/example-news.jsonl" in report.written
    # Listed on index.html with its label and media type, and announced to a hub.
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<a href="topics/ai.jsonl" type="application/jsonl">JSON Lines</a>' in page
    urls = websub.feed_urls("https://f.example/", report.written)
    assert "https://f.example/topics/ai.jsonl" in urls
    # Served as its media type.
    server = Server(out, "127.0.0.1", 0)
    server.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/topics/ai.jsonl")
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == "application/jsonl; charset=utf-8"
        assert response.read() == (out / "topics/ai.jsonl").read_bytes()
        conn.close()
    finally:
        server.stop()

    # A run that changes nothing rewrites nothing, in the new format too.
    again = generate_once(content, out, **settings)
    assert again.written == ()
    # The feed goes, and its file in the new format with it.
    (content / "b.md").unlink()
    gone = generate_once(content, out, **settings)
    assert "topics/space.jsonl" in gone.removed and not (out / "topics/space.jsonl").exists()
    # Turning the format off removes its files.
    settings["formats"] = ["rss", "atom", "json"]
    off = generate_once(content, out, **settings)
    assert not list(out.rglob("*.jsonl")) and "all.jsonl" in off.removed
