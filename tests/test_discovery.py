"""index.html and feeds.opml: every feed can be found by a person and by a reader."""

import os

from lxml import etree, html

from feedsync import config, generate

from conftest import FIXED_NOW, generate_once


def test_the_index_page_lists_every_feed_and_advertises_the_main_ones(tmp_path, write_article):
    write_article(
        tmp_path / "in", "a.md", title="A", topics=["AI", "C++"], provider="Acme", day="2024-01-02"
    )
    write_article(
        tmp_path / "in", "b.md", title="B", topics=["AI"], provider="<Beta & Co>", day="2024-03-04"
    )
    out = tmp_path / "out"
    generate_once(tmp_path / "in", out, base_url="https://feeds.example.org/")
    page = html.fromstring((out / "index.html").read_bytes())
    alternates = {
        (link.get("type"), link.get("href")) for link in page.xpath("//link[@rel='alternate']")
    }
    assert alternates == {
        ("application/rss+xml", "https://feeds.example.org/all.rss"),
        ("application/atom+xml", "https://feeds.example.org/all.atom"),
        ("application/feed+json", "https://feeds.example.org/all.json"),
    }
    rows = {
        r.xpath("string(td[1])"): (
            r.xpath("string(td[2])"),
            r.xpath("string(td[3])"),
            [a.get("href") for a in r.xpath("td[4]/a")],
        )
        for r in page.xpath("//tr[td]")
    }
    assert rows["AI"] == (
        "2 articles",
        "2024-03-04 12:00 UTC",
        ["topics/ai.rss", "topics/ai.atom", "topics/ai.json"],
    )
    assert rows["<Beta & Co>"][0] == "1 article"  # escaped in the page, shown as typed
    assert set(rows) == {"All articles", "AI", "C++", "Acme", "<Beta & Co>"}
    for hrefs in (v[2] for v in rows.values()):
        for href in hrefs:
            assert (out / href).is_file()


def test_the_opml_lists_every_feed_once_with_absolute_urls(tmp_path, write_article):
    write_article(tmp_path / "in", "a.md", topics=["Künstliche Intelligenz"], provider="Acme")
    out = tmp_path / "out"
    generate_once(tmp_path / "in", out, base_url="https://feeds.example.org/")
    doc = etree.parse(str(out / "feeds.opml"))
    assert doc.getroot().get("version") == "2.0"
    urls = [o.get("xmlUrl") for o in doc.iter("outline") if o.get("xmlUrl")]
    assert urls == [
        "https://feeds.example.org/all.atom",
        "https://feeds.example.org/topics/k%C3%BCnstliche-intelligenz.atom",
        "https://feeds.example.org/providers/acme.atom",
    ]


def test_the_index_is_rewritten_only_when_what_it_shows_changes(tmp_path, write_article):
    write_article(tmp_path / "in", "a.md", title="A", topics=["AI"])
    out = tmp_path / "out"
    generate_once(tmp_path / "in", out)
    os.utime(out / "index.html", (1_000_000, 1_000_000))
    write_article(tmp_path / "in", "a.md", title="A retitled", topics=["AI"])
    report = generate_once(tmp_path / "in", out)
    assert "all.atom" in report.written and "index.html" not in report.written
    assert (out / "index.html").stat().st_mtime == 1_000_000
    write_article(tmp_path / "in", "b.md", title="B", topics=["Robotics"])
    assert "index.html" in generate_once(tmp_path / "in", out).written


def article_counts(out) -> dict[str, str]:
    """Each feed's name on index.html and what its articles cell says."""
    page = html.fromstring((out / "index.html").read_bytes())
    return {
        row.xpath("string(td[1])").strip(): row.xpath("string(td[2])").strip()
        for row in page.xpath("//tr[td]")
    }


def test_each_feed_tells_how_many_articles_it_covers_and_that_it_holds_the_newest(
    tmp_path, write_article
):
    content, out = tmp_path / "in", tmp_path / "out"
    for i in range(1, 6):
        write_article(content, f"{i}.md", title=f"T{i}", day=f"2024-01-0{i}", topics=["AI"])
    write_article(content, "rust.md", title="R", day="2024-01-09", topics=["Rust"])
    cfg = config.load(None, {"content_dir": content, "output_dir": out, "max_items": 3})
    state = generate.State()
    generate.run(cfg, FIXED_NOW, state=state)
    assert article_counts(out) == {
        "All articles": "6 articles · newest 3 in the feed",
        "AI": "5 articles · newest 3 in the feed",
        "Rust": "1 article",
        "Example News": "6 articles · newest 3 in the feed",
    }
    ai = os.stat(out / "topics/ai.atom")

    # An article older than every shown one changes no feed's items, only what the page tells.
    write_article(content, "0.md", title="Old", day="2023-01-01", topics=["AI"])
    report = generate.run(cfg, FIXED_NOW, state=state, changed=[content / "0.md"])
    assert article_counts(out)["AI"] == "6 articles · newest 3 in the feed"
    assert "topics/ai.atom" not in report.written and "index.html" in report.written
    assert os.stat(out / "topics/ai.atom").st_mtime_ns == ai.st_mtime_ns
