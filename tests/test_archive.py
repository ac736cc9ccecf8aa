"""archive: every published article is reachable from its feeds (RFC 5005 archived feeds).

A client's walk: from each subscription document follow `prev-archive` to the end, reading
every document with feedparser and lxml (Atom also against RFC 4287's schema). Stability is
checked the way caches see it: which output files changed bytes or mtime after each edit.
"""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from lxml import etree

from feedsync import config, generate

from conftest import FIXED_NOW, load_atom_schema, subscriptions

FH = "http://purl.org/syndication/history/1.0"
ATOM = "http://www.w3.org/2005/Atom"
BASE = "https://feeds.example.org/"
MONTHS = [f"{y}-{m:02}" for y in (2022, 2023, 2024) for m in (1, 4, 7, 10)]


def links(path: Path) -> dict[str, str]:
    """rel -> href of a document's feed-level links (Atom links, or atom:link in RSS)."""
    root = etree.parse(str(path)).getroot()
    parent = root.find("channel") if root.tag == "rss" else root
    assert parent is not None
    return {
        link.get("rel"): link.get("href")
        for link in parent.findall(f"{{{ATOM}}}link")
        if link.get("rel") in ("self", "current", "prev-archive", "next-archive")
    }


def local(out: Path, url: str) -> Path:
    assert url.startswith(BASE), url
    return out / url.removeprefix(BASE)


def walk(out: Path, subscription: Path) -> list[Path]:
    """The archive documents a client reaches from `subscription` by prev-archive."""
    seen: list[Path] = []
    url = links(subscription).get("prev-archive")
    while url is not None:
        path = local(out, url)
        assert path not in seen, f"{url}: a loop in the prev-archive chain"
        seen.append(path)
        url = links(path).get("prev-archive")
    return seen


@pytest.fixture
def site(tmp_path, write_article):
    """Three years of articles, a few a quarter, over two topics and two providers."""
    content, out = tmp_path / "in", tmp_path / "out"
    for i, month in enumerate(MONTHS):
        for j in range(3):
            write_article(
                content,
                f"{month}-{j}.md",
                title=f"Story {month} {j}",
                day=f"{month}-{10 + j}",
                topics=["AI"] if j else ["AI", "Space"],
                provider="Acme" if (i + j) % 2 else "Beta",
            )
    settings = {
        "content_dir": content,
        "output_dir": out,
        "base_url": BASE,
        "max_items": 5,
        "cache_file": tmp_path / "cache.sqlite3",
    }
    cfg = config.load(None, settings)
    state = generate.State.open(cfg)
    report = generate.run(cfg, FIXED_NOW, state=state)
    assert not report.problems
    yield content, out, lambda: generate.run(cfg, FIXED_NOW, state=state), state
    state.close()


def test_prev_archive_reaches_every_article_of_every_feed_exactly_once(site, write_article):
    content, out, _, _ = site
    schema = load_atom_schema()
    everything = feedparser.parse(out / "all.atom")
    assert len(everything.entries) == 5  # the subscription document keeps max_items
    expected = {
        "all": 36,
        "topics/ai": 36,
        "topics/space": 12,
        "providers/acme": 18,
        "providers/beta": 18,
    }
    for suffix in (".atom", ".rss"):
        for subscription in subscriptions(out, f"*{suffix}"):
            feed = subscription.relative_to(out).with_suffix("").as_posix()
            archives = walk(out, subscription)
            assert archives, f"{subscription}: no prev-archive"
            ids: list[str] = []
            for path in archives:
                assert path.suffix == suffix and path.relative_to(out).parts[0] == "archive"
                root = etree.parse(str(path)).getroot()
                head = root.find("channel") if suffix == ".rss" else root
                assert head is not None and head.find(f"{{{FH}}}archive") is not None, path
                assert links(path)["current"] == f"{BASE}{feed}{suffix}"
                assert links(path)["self"] == f"{BASE}{path.relative_to(out).as_posix()}"
                parsed = feedparser.parse(path.read_bytes())
                assert not parsed.bozo, (path, parsed.get("bozo_exception"))
                ids += [e.id for e in parsed.entries]
                if suffix == ".atom":
                    assert schema.validate(etree.parse(str(path))), (path, schema.error_log)
            assert len(ids) == len(set(ids)) == expected[feed], feed
            # The newest archive has no next-archive; every other links the one after it.
            assert "next-archive" not in links(archives[0])
            for newer, older in zip(archives, archives[1:]):
                assert links(older)["next-archive"] == f"{BASE}{newer.relative_to(out).as_posix()}"
    # And they are the feed's published articles: every file's article is in `all`.
    all_ids = {e.id for path in walk(out, out / "all.atom") for e in feedparser.parse(path).entries}
    assert len(all_ids) == len(list(content.glob("*.md")))


def test_each_feed_page_lists_its_archives(site):
    _, out, _, _ = site
    import lxml.html

    page = lxml.html.parse(str(out / "topics/space.html"))
    hrefs = page.xpath("//ul[@class='archives']//a/@href")
    assert len(hrefs) == len(MONTHS) and all((out / "topics" / h).is_file() for h in hrefs)


def snapshot(out: Path) -> dict[str, tuple[bytes, int, int]]:
    return {
        p.relative_to(out).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino)
        for p in out.rglob("*")
        if p.is_file()
    }


def changed(before: dict, after: dict) -> set[str]:
    return {n for n in set(before) | set(after) if before.get(n) != after.get(n)}


FEEDS_OF_NEW = ("all", "topics/ai", "providers/acme")
SUBSCRIPTION = ("rss", "atom", "json", "html")
LISTINGS = {"index.html", "feeds.opml"}


def test_a_new_article_changes_its_feeds_and_one_archive_each(site, write_article):
    content, out, run, _ = site
    before = snapshot(out)
    write_article(content, "new.md", title="New", day="2025-01-05", topics=["AI"], provider="Acme")
    run()
    files = changed(before, snapshot(out))
    expected = {f"{f}.{e}" for f in FEEDS_OF_NEW for e in SUBSCRIPTION} | LISTINGS
    expected |= {f"archive/{f}/2025-01.{e}" for f in FEEDS_OF_NEW for e in ("rss", "atom")}
    # a new period: the previous newest archive gains its next-archive link
    expected |= {f"archive/{f}/2024-10.{e}" for f in FEEDS_OF_NEW for e in ("rss", "atom")}
    assert files == expected
    # Another article in the same month: no neighbour changes any more.
    before = snapshot(out)
    write_article(
        content, "new2.md", title="New 2", day="2025-01-06", topics=["AI"], provider="Acme"
    )
    run()
    files = changed(before, snapshot(out))
    assert files == expected - {
        f"archive/{f}/2024-10.{e}" for f in FEEDS_OF_NEW for e in ("rss", "atom")
    }


def test_an_edit_of_an_old_article_rewrites_only_the_documents_that_hold_it(site, write_article):
    content, out, run, _ = site
    before = snapshot(out)
    write_article(
        content, "2022-04-1.md", title="Edited", day="2022-04-11", topics=["AI"], provider="Beta"
    )
    run()
    files = changed(before, snapshot(out))
    # Not in any subscription document (max_items 5): only its month's archives, and the
    # pages and listings are untouched.
    holders = ("all", "topics/ai", "providers/beta")
    assert files == {f"archive/{f}/2022-04.{e}" for f in holders for e in ("rss", "atom")}


def test_unpublishing_rewrites_the_documents_that_held_it_and_an_emptied_month_goes(
    site, write_article
):
    content, out, run, _ = site
    before = snapshot(out)
    write_article(
        content,
        "2023-07-0.md",
        title="Gone",
        day="2023-07-10",
        topics=["AI", "Space"],
        provider="Beta",
        published=False,
    )
    run()
    files = changed(before, snapshot(out))
    holders = ("all", "topics/ai", "topics/space", "providers/beta")
    archives = {f"archive/{f}/2023-07.{e}" for f in holders for e in ("rss", "atom")}
    # Space had one article that month: its archive goes, its neighbours relink.
    assert not (out / "archive/topics/space/2023-07.atom").exists()
    neighbours = {
        f"archive/topics/space/{m}.{e}" for m in ("2023-04", "2023-10") for e in ("rss", "atom")
    }
    tombstoned = {f"{f}.atom" for f in holders}  # the Atom subscription documents say it went
    space_page = {"topics/space.html", "topics/space.json", "topics/space.rss"}  # count, links
    assert archives | neighbours | tombstoned <= files
    assert files - (archives | neighbours | tombstoned | space_page | LISTINGS) <= {
        f"{f}.html" for f in holders
    } | {f"{f}.{e}" for f in holders for e in ("rss", "json")}


def test_a_feed_that_goes_takes_its_archive_and_archives_false_removes_all(site, tmp_path):
    content, out, run, state = site
    for path in content.glob("*-0.md"):  # the only Space articles
        path.unlink()
    run()
    assert not (out / "archive/topics/space").exists() or not any(
        (out / "archive/topics/space").iterdir()
    )
    cfg = config.load(
        None,
        {
            "content_dir": content,
            "output_dir": out,
            "base_url": BASE,
            "max_items": 5,
            "cache_file": tmp_path / "cache.sqlite3",
            "archives": False,
        },
    )
    report = generate.run(cfg, FIXED_NOW, state=state)
    assert not [p for p in (out / "archive").rglob("*") if p.is_file()]
    assert any(name.startswith("archive/") for name in report.removed)
    assert "prev-archive" not in links(out / "all.atom")
