"""tombstones: a feed tells readers which articles left it (RFC 6721 at:deleted-entry).

Each case runs the pipeline on one cache (as `generate` does from run to run) at a known
clock, and reads the tombstones back with lxml by their namespace; every Atom document is
checked against RFC 4287's schema.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from feedsync import config, generate
from feedsync.model import Report

from conftest import FIXED_NOW, load_atom_schema, titles

AT = "http://purl.org/atompub/tombstones/1.0"
ATOM = "http://www.w3.org/2005/Atom"
HOUR = timedelta(hours=1)


class Site:
    """A content folder, its output and one cache, run at chosen times."""

    def __init__(self, root: Path, write: Callable[..., Path], **settings: object) -> None:
        self.content, self.out = root / "in", root / "out"
        self.content.mkdir(parents=True, exist_ok=True)
        self.write = write
        self.cfg = config.load(
            None,
            {
                "content_dir": self.content,
                "output_dir": self.out,
                "cache_file": root / "cache.sqlite3",
                **settings,
            },
        )
        self.state = generate.State.open(self.cfg)

    def article(self, name: str, title: str, **fields: object) -> None:
        self.write(self.content, name, title, **fields)

    def run(self, now: datetime) -> Report:
        return generate.run(self.cfg, now, state=self.state)

    def stones(self, feed: str) -> list[tuple[str, str]]:
        """(ref, when) of every tombstone in the feed's Atom document, in document order."""
        root = etree.parse(str(self.out / f"{feed}.atom")).getroot()
        return [(e.get("ref"), e.get("when")) for e in root.iter(f"{{{AT}}}deleted-entry")]

    def id_of(self, feed: str, title: str) -> str:
        (entry,) = [
            e for e in feedparser.parse(self.out / f"{feed}.atom").entries if e.title == title
        ]
        return str(entry.id)


@pytest.fixture
def site(tmp_path, write_article) -> Site:
    s = Site(tmp_path, write_article)
    s.article("a.md", "A", topics=["AI"], provider="Acme", day="2024-05-01")
    s.article("b.md", "B", topics=["AI", "Space"], provider="Acme", day="2024-05-02")
    s.run(FIXED_NOW)
    yield s
    s.state.close()


def when(at: datetime) -> str:
    return at.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def assert_valid(site: Site) -> None:
    schema = load_atom_schema()
    for path in site.out.rglob("*.atom"):
        document = etree.parse(str(path))
        assert schema.validate(document), f"{path}: {schema.error_log}"
        assert not feedparser.parse(path.read_bytes()).bozo, path


def test_an_unpublished_article_gets_a_tombstone_in_every_feed_it_left(site):
    b = site.id_of("all", "B")
    site.article(
        "b.md", "B", topics=["AI", "Space"], provider="Acme", day="2024-05-02", published=False
    )
    later = FIXED_NOW + HOUR
    site.run(later)
    for feed in ("all", "topics/ai", "providers/acme"):
        assert site.stones(feed) == [(b, when(later))], feed
        updated = (
            etree.parse(str(site.out / f"{feed}.atom")).getroot().findtext(f"{{{ATOM}}}updated")
        )
        assert datetime.fromisoformat(updated) >= later  # the feed's updated accounts for it
    assert not (site.out / "topics/space.atom").exists()  # a feed that went announces nothing
    assert_valid(site)
    # RSS and JSON Feed have no tombstones: they only lose the item.
    assert titles(site.out / "all.rss") == ["A"]
    assert b"deleted-entry" not in (site.out / "all.rss").read_bytes()
    # A later run repeats the same bytes: the time is the one kept in the index.
    assert site.run(later + HOUR).written == ()
    assert site.stones("all") == [(b, when(later))]


def test_a_deleted_file_gets_a_tombstone(site):
    a = site.id_of("all", "A")
    (site.content / "a.md").unlink()
    site.run(FIXED_NOW + HOUR)
    assert site.stones("all") == [(a, when(FIXED_NOW + HOUR))]
    assert site.stones("topics/ai") == [(a, when(FIXED_NOW + HOUR))]
    assert_valid(site)


def test_moving_out_of_a_topic_is_announced_only_in_that_topic(site):
    b = site.id_of("all", "B")
    site.article("b.md", "B", topics=["AI"], provider="Acme", day="2024-05-02")
    site.run(FIXED_NOW + HOUR)
    assert site.stones("all") == [] and site.stones("topics/ai") == []
    assert site.stones("providers/acme") == []
    assert not (site.out / "topics/space.atom").exists()
    site.article("c.md", "C", topics=["Space"], day="2024-05-03")  # Space returns
    site.article("b.md", "B", topics=["AI"], provider="Other", day="2024-05-02")
    site.run(FIXED_NOW + 2 * HOUR)
    assert site.stones("providers/acme") == [(b, when(FIXED_NOW + 2 * HOUR))]
    assert site.stones("providers/other") == [] and site.stones("all") == []


def test_a_republished_article_loses_its_tombstone(site):
    fields = {"topics": ["AI", "Space"], "provider": "Acme", "day": "2024-05-02"}
    site.article("b.md", "B", published=False, **fields)
    site.run(FIXED_NOW + HOUR)
    assert site.stones("all")
    site.article("b.md", "B", **fields)
    report = site.run(FIXED_NOW + 2 * HOUR)
    assert site.stones("all") == [] and site.stones("topics/ai") == []
    assert "B" in titles(site.out / "all.atom") and "all.atom" in report.written
    assert site.run(FIXED_NOW + 3 * HOUR).written == ()


def test_moving_to_the_future_is_a_removal_until_that_time_comes(site):
    b = site.id_of("all", "B")
    site.article("b.md", "B", topics=["AI", "Space"], provider="Acme", day="2026-03-01")
    site.run(FIXED_NOW + HOUR)
    assert site.stones("all") == [(b, when(FIXED_NOW + HOUR))]
    site.run(datetime(2026, 3, 2, tzinfo=timezone.utc))  # it is out again
    assert site.stones("all") == [] and titles(site.out / "all.atom")[0] == "B"


def test_an_article_that_slides_out_of_max_items_leaves_no_tombstone(tmp_path, write_article):
    s = Site(tmp_path, write_article, max_items=2)
    s.article("a.md", "A", day="2024-05-01")
    s.article("b.md", "B", day="2024-05-02")
    s.run(FIXED_NOW)
    s.article("c.md", "C", day="2024-05-03")
    s.run(FIXED_NOW + HOUR)
    assert titles(s.out / "all.atom") == ["C", "B"] and s.stones("all") == []
    s.state.close()


def test_a_tombstone_lasts_tombstone_days(tmp_path, write_article):
    s = Site(tmp_path, write_article, tombstone_days=2)
    s.article("a.md", "A")
    s.article("b.md", "B", day="2024-05-02")
    s.run(FIXED_NOW)
    (s.content / "b.md").unlink()
    s.run(FIXED_NOW + HOUR)
    assert len(s.stones("all")) == 1
    assert s.run(FIXED_NOW + timedelta(days=1)).written == ()
    expired = s.run(FIXED_NOW + timedelta(days=2, hours=2))
    assert s.stones("all") == []
    assert sorted(expired.written) == ["all.atom", "providers/example-news.atom"]  # Atom only
    # The daemon's scheduler is told when the next one runs out.
    (s.content / "a.md").unlink()
    report = s.run(FIXED_NOW + timedelta(days=3))
    assert report.next_due == FIXED_NOW + timedelta(days=5)
    s.state.close()


def test_tombstone_days_0_announces_nothing(tmp_path, write_article):
    s = Site(tmp_path, write_article, tombstone_days=0)
    s.article("a.md", "A")
    s.run(FIXED_NOW)
    (s.content / "a.md").unlink()
    s.run(FIXED_NOW + HOUR)
    assert s.stones("all") == []
    s.state.close()


def test_a_custom_feed_announces_an_article_that_left_all_its_parts(tmp_path, write_article):
    s = Site(
        tmp_path,
        write_article,
        custom_feeds={"mix": {"title": "Mix", "topics": ["AI", "Space"]}},
    )
    s.article("a.md", "A", topics=["AI"])
    s.article("b.md", "B", topics=["AI", "Space"], day="2024-05-02")
    s.run(FIXED_NOW)
    b = s.id_of("custom/mix", "B")
    s.article("b.md", "B", topics=["Space"], day="2024-05-02")  # still in the mix
    s.run(FIXED_NOW + HOUR)
    assert s.stones("custom/mix") == [] and s.stones("topics/ai") == [(b, when(FIXED_NOW + HOUR))]
    s.article("b.md", "B", topics=[], day="2024-05-02")  # out of both
    s.run(FIXED_NOW + 2 * HOUR)
    assert s.stones("custom/mix") == [(b, when(FIXED_NOW + 2 * HOUR))]
    s.state.close()
