"""formats/page: every feed has a page a person can read and subscribe from.

Read back with html5lib (strict: a parse error fails the test) and lxml, the feeds with
feedparser; the page in a real browser is in test_browser.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import html5lib
import lxml.html
import pytest

from feedsync import config
from feedsync.errors import FeedsyncError

from conftest import ROOT, generate_once, subscriptions

BASE = "https://feeds.example.org/"
FEED_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
IMAGE = {"url": "https://img.example/lead.jpg", "width": 800, "height": 450}


def page(path: Path) -> lxml.html.HtmlElement:
    """The page parsed strictly by html5lib (as browsers parse), as an lxml tree."""
    data = path.read_bytes()
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(data)
    return lxml.html.document_fromstring(data)


@pytest.fixture
def site(tmp_path, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(
        content,
        "a.md",
        title="Älpha <b>bold</b> & co",
        topics=["AI"],
        provider="Acme",
        domain="acme.example",
        day="2024-05-02",
        images=[IMAGE],
        excerpt="First line\nsecond line\n\nA <script>x</script> paragraph.",
    )
    write_article(content, "b.md", title="Beta", topics=["AI", "Space"], day="2024-05-01")
    report = generate_once(content, out, base_url=BASE)
    assert not report.problems
    return content, out


def test_every_page_of_the_seeds_parses_without_an_error(tmp_path):
    out = tmp_path / "out"
    generate_once(ROOT / "seeds", out, base_url=BASE)
    pages = sorted(out.rglob("*.html"))
    feeds = subscriptions(out)
    assert len(pages) == len(feeds) + 1  # a page per feed, and index.html
    for path in pages:
        page(path)


def test_a_feed_page_shows_its_title_description_and_newest_items(site):
    _, out = site
    doc = page(out / "topics/ai.html")
    assert doc.findtext(".//title") == "AI — feedsync"
    assert doc.findtext(".//h1") == "AI"
    assert doc.xpath("string(//p[@class='lead'])") == "Articles about AI, from feedsync."
    assert doc.xpath("string(//header/p[@class='c'])") == "2 articles."

    items = doc.xpath("//li[@class='item']")
    assert [i.xpath("string(.//h3)") for i in items] == ["Älpha <b>bold</b> & co", "Beta"]
    first = items[0]
    feed = json.loads((out / "topics/ai.json").read_text(encoding="utf-8"))
    assert [i.xpath("string(.//h3/a/@href)") for i in items] == [i["url"] for i in feed["items"]]
    assert first.xpath("string(.//p[@class='meta'])") == "Acme · 2024-05-02"
    assert first.xpath(".//time/@datetime") == ["2024-05-02T12:00:00Z"]
    (img,) = first.xpath(".//img")
    assert (img.get("src"), img.get("width"), img.get("height")) == (IMAGE["url"], "800", "450")
    assert img.get("alt") == ""  # the title next to it says what it is
    paragraphs = first.xpath(".//div[@class='text']/p[not(@class)]")
    assert [lxml.html.tostring(p, encoding="unicode") for p in paragraphs] == [
        "<p>First line<br>second line</p>",
        "<p>A &lt;script&gt;x&lt;/script&gt; paragraph.</p>",
    ]
    assert not doc.xpath("//script") and not doc.xpath("//style") and not doc.xpath("//@style")
    assert not items[1].xpath(".//img")  # no image, no empty frame


def test_a_feed_page_says_how_to_subscribe_in_every_format(site):
    _, out = site
    doc = page(out / "topics/ai.html")
    alternates = {
        link.get("type"): link.get("href") for link in doc.xpath("//head/link[@rel='alternate']")
    }
    assert alternates == {media: f"{BASE}topics/ai.{ext}" for ext, media in FEED_TYPES.items()}
    (address,) = doc.xpath("//input[@id='address']")
    assert address.get("readonly") is not None and address.get("value") == f"{BASE}topics/ai.atom"
    assert doc.xpath("//label[@for='address']")
    links = [(a.get("href"), a.get("type"), a.text) for a in doc.xpath("//ul[@class='formats']//a")]
    assert links == [
        ("ai.rss", "application/rss+xml", "RSS"),
        ("ai.atom", "application/atom+xml", "Atom"),
        ("ai.json", "application/feed+json", "JSON Feed"),
    ]
    shown = [s.text for s in doc.xpath("//ul[@class='formats']//span")]
    assert shown == list(FEED_TYPES.values())  # the media type beside each link
    for href, _, _ in links:
        assert (out / "topics" / href).is_file()
    assert doc.xpath("//head/link[@rel='stylesheet']/@href") == ["../feeds.css"]
    assert (out / "feeds.css").is_file()
    assert doc.xpath("//p[@class='crumbs']/a/@href") == ["../index.html"]


def test_a_provider_page_links_its_website_and_shows_its_logo(tmp_path, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    logo = {"url": "https://acme.example/logo.png", "width": 50, "height": 50}
    write_article(content, "a.md", provider="Acme", domain="acme.example")
    (content / "a.md").write_text(
        (content / "a.md")
        .read_text(encoding="utf-8")
        .replace("  domain: acme.example\n", f"  domain: acme.example\n  images:\n  - {logo}\n"),
        encoding="utf-8",
    )
    generate_once(content, out, base_url=BASE)
    doc = page(out / "providers/acme.html")
    assert doc.findtext(".//h1") == "Acme"
    assert doc.xpath("//header//a/@href") == ["https://acme.example/"]
    assert doc.xpath("//header/img[@class='logo']/@src") == [logo["url"]]
    assert doc.xpath("//head/link[@rel='icon']/@href") == [logo["url"]]


def test_every_feed_names_its_page_as_its_web_page(site):
    _, out = site
    for path in ("all", "topics/ai", "topics/space", "providers/acme"):
        url = f"{BASE}{path}.html"
        for ext in ("rss", "atom"):
            parsed = feedparser.parse((out / f"{path}.{ext}").read_bytes())
            assert not parsed.bozo
            assert parsed.feed.link == url, f"{path}.{ext}"
            html_links = [link.href for link in parsed.feed.links if link.type == "text/html"]
            assert html_links == [url]
        document = json.loads((out / f"{path}.json").read_text(encoding="utf-8"))
        assert document["home_page_url"] == url
    opml = lxml.etree.parse(str(out / "feeds.opml"))
    urls = {o.get("xmlUrl"): o.get("htmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")}
    assert urls[f"{BASE}topics/ai.atom"] == f"{BASE}topics/ai.html"


def test_index_html_links_each_feed_name_to_its_page(site):
    _, out = site
    doc = page(out / "index.html")
    names = {a.text: a.get("href") for a in doc.xpath("//td[@class='name']/a")}
    assert names == {
        "All articles": "all.html",
        "AI": "topics/ai.html",
        "Space": "topics/space.html",
        "Acme": "providers/acme.html",
        "Example News": "providers/example-news.html",
    }
    for href in names.values():
        assert (out / href).is_file()
    assert not doc.xpath("//style") and doc.xpath("//link[@rel='stylesheet']/@href") == [
        "feeds.css"
    ]


def test_a_page_is_rewritten_only_when_its_feed_changes(site, write_article):
    content, out = site
    write_article(content, "b.md", title="Beta edited", topics=["AI", "Space"], day="2024-05-01")
    report = generate_once(content, out, base_url=BASE)
    assert "topics/space.html" in report.written and "topics/ai.html" in report.written
    assert "providers/acme.html" not in report.written  # Beta is not Acme's
    assert "Beta edited" in (out / "topics/space.html").read_text(encoding="utf-8")
    # Something no feed shows changes no page either.
    write_article(
        content, "b.md", title="Beta edited", topics=["AI", "Space"], day="2024-05-01", heat=9
    )
    assert generate_once(content, out, base_url=BASE).written == ()


def test_a_feed_that_goes_takes_its_page_with_it(site):
    content, out = site
    (content / "b.md").unlink()
    report = generate_once(content, out, base_url=BASE)
    assert "topics/space.html" in report.removed and not (out / "topics/space.html").exists()


def test_without_the_html_format_there_are_no_pages_and_feeds_link_as_before(
    tmp_path, write_article
):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", provider="Acme", domain="acme.example", topics=["AI"])
    generate_once(content, out, base_url=BASE, formats=["rss", "atom", "json"])
    assert not [p for p in out.rglob("*.html") if p.name != "index.html"]
    assert feedparser.parse((out / "providers/acme.atom").read_bytes()).feed.link == (
        "https://acme.example/"
    )
    assert feedparser.parse((out / "topics/ai.rss").read_bytes()).feed.link == BASE
    doc = page(out / "index.html")
    assert doc.xpath("//td[@class='name']/a") == []  # names are not links to missing pages
    # Turning pages on later writes them; turning them off again removes them.
    on = generate_once(content, out, base_url=BASE)
    assert "topics/ai.html" in on.written
    off = generate_once(content, out, base_url=BASE, formats=["rss", "atom", "json"])
    assert "topics/ai.html" in off.removed and not (out / "topics/ai.html").exists()


def test_an_empty_feed_has_a_page_that_says_so(tmp_path):
    (tmp_path / "in").mkdir()
    generate_once(tmp_path / "in", tmp_path / "out", base_url=BASE)
    doc = page(tmp_path / "out/all.html")
    assert doc.xpath("//li[@class='item']") == []
    assert "Nothing published yet." in doc.text_content()


def test_pages_alone_are_not_a_feed_setting():
    with pytest.raises(FeedsyncError, match=r"formats: \['html'\] has no feed format"):
        config.load(None, {"formats": ["html"]})
