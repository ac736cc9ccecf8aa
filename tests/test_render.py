"""render: a feed -> bytes in every format of the table, each entry built once.

Feeds are read back with feedparser (RSS, Atom) and `json.loads` (JSON Feed, which the
installed feedparser 6.0 does not read), never by string matching alone. Counting how often an
entry is built goes through a real writer wrapped by `CountingWriter`, put in the renderer's
table of writers.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import feedparser
import pytest

from feedsync import formats, select
from feedsync.formats import Site, Writer
from feedsync.formats.common import EMPTY_FEED_DATE
from feedsync.membership import ALL
from feedsync.model import Article, Feed, FeedKind, Image, Provider
from feedsync.render import Renderer
from feedsync.store import Index
from feedsync.store.rows import row_of

SITE = Site("https://feeds.example.com/", "Example Feeds", "https://www.example.com/")
FORMATS = formats.feeds(formats.FORMATS)  # the page is read back in test_page.py
WHEN = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


def art(name: str, *, days_ago: int = 0, topics: tuple[str, ...] = ("AI",), **fields) -> Article:
    when = WHEN - timedelta(days=days_ago)
    values: dict[str, Any] = {
        "id": f"urn:{name}",
        "source": f"{name}.md",
        "title": name,
        "summary": f"About {name}.",
        "link": f"https://news.example.com/{name}",
        "published_at": when,
        "updated_at": when,
        "published": True,
        "provider": Provider("Acme", "acme.example"),
        "topics": topics,
        **fields,
    }
    return Article(**values)


def topic_feed(*articles: Article, key: str = "ai", name: str = "AI", labels=None) -> Feed:
    return Feed(
        FeedKind.TOPIC,
        key,
        name,
        f"topics/{key}",
        articles,
        labels=labels if labels is not None else ((key, name),),
    )


def everything(*articles: Article, labels=(("ai", "AI"),)) -> Feed:
    return Feed(FeedKind.ALL, "", "", "all", articles, labels=labels)


def read_back(data: bytes, fmt: str) -> list[tuple[str, str, list[str]]]:
    """(title, id, categories) of every item, in document order, as a reader sees them."""
    if fmt == "json":
        items = json.loads(data)["items"]
        return [(i["title"], i["id"], i.get("tags", [])) for i in items]
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return [(e.title, e.id, [t.term for t in e.get("tags", [])]) for e in parsed.entries]


class CountingWriter:
    """A real format's writer that counts the entries it builds, by (article id, names)."""

    def __init__(self, real: Writer) -> None:
        self.real = real
        self.built: Counter[tuple[str, tuple[str, ...]]] = Counter()

    def entry(self, article: Article, names: tuple[str, ...]) -> bytes:
        self.built[(article.id, names)] += 1
        return self.real.entry(article, names)

    def document(self, feed: Feed, entries: Sequence[bytes]) -> bytes:
        return self.real.document(feed, entries)


def counting(renderer: Renderer) -> dict[str, CountingWriter]:
    """Wrap every format's writer of `renderer` in a CountingWriter."""
    writers = {fmt: CountingWriter(renderer.writer(fmt)) for fmt in FORMATS}
    renderer._writers.update(writers)
    return writers


# -- every format --------------------------------------------------------------------------------


def test_the_format_table_is_what_the_renderer_renders():
    assert tuple(formats.FORMATS) == (*FORMATS, "html")
    assert FORMATS == ("rss", "atom", "json")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_back_with_the_feeds_titles_and_ids_in_order(fmt):
    articles = (
        art("Newest", topics=("AI", "Space")),
        art("Künstliche Intelligenz & <b>markup</b>", days_ago=1, summary=""),
        art("Ünïcode “quotes”", days_ago=2, provider=None, topics=()),
        art("With image", days_ago=3, images=(Image("https://img.example/a.png", None, None),)),
    )
    feed = everything(*articles, labels=(("ai", "AI"), ("space", "Space")))

    items = read_back(Renderer(SITE).render(feed, fmt), fmt)

    assert [(title, id_) for title, id_, _ in items] == [(a.title, a.id) for a in articles]
    assert items[0][2] == ["AI", "Space"] and items[2][2] == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_feed_renders_to_the_same_bytes_every_time_cached_or_not(fmt):
    feed = topic_feed(art("a"), art("b", days_ago=1, topics=("AI", "Robotics")))
    warm = Renderer(SITE)
    first = warm.render(feed, fmt)
    assert warm.render(feed, fmt) == first  # from the entry cache
    assert Renderer(SITE).render(feed, fmt) == first  # a fresh renderer
    assert Renderer(SITE, cache_size=0).render(feed, fmt) == first  # no cache at all


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", [FeedKind.ALL, FeedKind.TOPIC, FeedKind.PROVIDER])
def test_an_empty_feed_is_valid_and_dated_1970_never_now(fmt, kind):
    feed = Feed(kind, "" if kind is FeedKind.ALL else "k", "Name", "some/path", ())
    data = Renderer(SITE).render(feed, fmt)

    if fmt == "json":
        document = json.loads(data)
        assert document["items"] == [] and document["version"].startswith("https://jsonfeed.org/")
        return
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.entries == []
    assert EMPTY_FEED_DATE == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert parsed.feed.updated_parsed[:6] == (1970, 1, 1, 0, 0, 0)


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_a_feeds_date_is_its_newest_items_update_not_the_clock(fmt):
    newer = art("b", days_ago=3, updated_at=WHEN)
    feed = topic_feed(art("a", days_ago=1), newer)  # b was published earlier, updated later
    parsed = feedparser.parse(Renderer(SITE).render(feed, fmt))
    assert parsed.feed.updated_parsed[:6] == WHEN.timetuple()[:6]


# -- each entry built once ------------------------------------------------------------------------


def test_an_entry_is_built_once_per_format_article_and_names_across_feeds():
    renderer = Renderer(SITE)
    writers = counting(renderer)
    a, b = art("a", topics=("AI",)), art("b", days_ago=1, topics=("AI", "Space"))
    labels = (("ai", "AI"), ("space", "Space"))
    feeds = (
        everything(a, b, labels=labels),
        topic_feed(a, b, labels=labels),
        Feed(FeedKind.PROVIDER, "acme", "Acme", "providers/acme", (a, b), labels=labels),
    )

    for _ in range(2):
        for feed in feeds:
            for fmt in FORMATS:
                renderer.render(feed, fmt)

    for writer in writers.values():
        assert writer.built == {("urn:a", ("AI",)): 1, ("urn:b", ("AI", "Space")): 1}


def test_other_category_names_are_another_entry_built_once_too():
    renderer = Renderer(SITE)
    writers = counting(renderer)
    a = art("a", topics=("AI",))

    for _ in range(3):
        renderer.render(everything(a, labels=(("ai", "AI"),)), "atom")
        renderer.render(everything(a, labels=(("ai", "ai"),)), "atom")

    assert writers["atom"].built == {("urn:a", ("AI",)): 1, ("urn:a", ("ai",)): 1}
    assert writers["rss"].built == {}


def test_an_edited_article_is_a_new_entry():
    renderer = Renderer(SITE)
    writers = counting(renderer)
    before = art("a")
    after = art("a", title="a, edited")
    assert read_back(renderer.render(everything(before), "rss"), "rss")[0][0] == "a"
    assert read_back(renderer.render(everything(after), "rss"), "rss")[0][0] == "a, edited"
    assert writers["rss"].built == {("urn:a", ("AI",)): 2}


def test_the_entry_cache_holds_at_most_cache_size_entries_least_recently_used_out_first():
    renderer = Renderer(SITE, cache_size=2)
    atom = counting(renderer)["atom"]
    a, b, c = art("a"), art("b", days_ago=1), art("c", days_ago=2)

    renderer.render(everything(a, b, c), "atom")  # a, b, c built; a is evicted
    assert sum(atom.built.values()) == 3
    renderer.render(everything(b, c), "atom")  # both still held; b is now the most recent
    assert sum(atom.built.values()) == 3
    renderer.render(everything(c), "atom")  # order of use, oldest first: b, c
    renderer.render(everything(a), "atom")  # a built again; b, used longest ago, goes
    assert atom.built[("urn:a", ("AI",))] == 2
    renderer.render(everything(c), "atom")  # c was kept
    assert atom.built[("urn:c", ("AI",))] == 1
    renderer.render(everything(b), "atom")  # b was not
    assert atom.built[("urn:b", ("AI",))] == 2


def test_with_no_cache_every_render_builds_its_entries():
    renderer = Renderer(SITE, cache_size=0)
    json_writer = counting(renderer)["json"]
    feed = everything(art("a"))
    renderer.render(feed, "json")
    renderer.render(feed, "json")
    assert json_writer.built == {("urn:a", ("AI",)): 2}


# -- stored (pre-rendered) entries ---------------------------------------------------------------


def test_stored_entries_are_used_when_the_feed_names_the_topics_as_the_article_does():
    renderer = Renderer(SITE)
    writers = counting(renderer)
    a = art("a", topics=("AI", "Space"))
    asked: list[tuple[str, str]] = []

    def stored(article: Article, fmt: str) -> bytes:
        asked.append((article.id, fmt))
        return b"<!-- stored " + fmt.encode() + b" -->"

    for fmt in FORMATS:
        feed = everything(a, labels=(("ai", "AI"), ("space", "Space")))
        data = renderer.render(feed, fmt, stored)
        assert b"<!-- stored " + fmt.encode() + b" -->" in data

    assert asked == [("urn:a", fmt) for fmt in FORMATS]
    assert all(w.built == {} for w in writers.values())


def test_stored_entries_are_not_used_when_another_spelling_names_a_topic():
    renderer = Renderer(SITE)
    writers = counting(renderer)
    a = art("a", topics=("AI", "Space"))
    asked = []

    def stored(article: Article, fmt: str) -> bytes:
        asked.append(fmt)
        return b"<!-- stored -->"

    feed = everything(a, labels=(("ai", "ai"), ("space", "Space")))  # "ai" won the topic
    for fmt in FORMATS:
        data = renderer.render(feed, fmt, stored)
        assert b"stored" not in data
        assert read_back(data, fmt)[0][2] == ["ai", "Space"]

    assert asked == []
    assert all(w.built == {("urn:a", ("ai", "Space")): 1} for w in writers.values())


def test_a_missing_stored_entry_is_built_instead():
    renderer = Renderer(SITE)
    rss = counting(renderer)["rss"]
    data = renderer.render(everything(art("a")), "rss", lambda article, fmt: None)
    assert read_back(data, "rss") == [("a", "urn:a", ["AI"])]
    assert rss.built == {("urn:a", ("AI",)): 1}


@pytest.mark.parametrize("fmt", FORMATS)
def test_entries_pre_rendered_at_read_time_give_the_bytes_of_a_fresh_render(fmt):
    a, b = art("a", topics=("AI", "Space")), art("b", days_ago=1, topics=())
    feed = everything(a, b, labels=(("ai", "AI"), ("space", "Space")))
    worker = Renderer(SITE, cache_size=0)  # as a reading worker process has it
    pre = {x.id: worker.entries(x, FORMATS, x.topics) for x in (a, b)}

    used = Renderer(SITE).render(feed, fmt, lambda article, f: pre[article.id][f])

    assert used == Renderer(SITE).render(feed, fmt)


# -- labels: the winning spelling -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_categories_use_the_spelling_that_names_the_topics_own_feed(fmt):
    """End to end through the store: "ai" wins two to one, so "a" is labelled "ai" too, and
    its entry pre-rendered with its own "AI" is not used."""
    renderer = Renderer(SITE)
    index = Index()
    index.begin()
    try:
        for article in (
            art("a", topics=("AI",)),
            art("b", days_ago=1, topics=("ai",)),
            art("c", days_ago=2, topics=("ai", "Space")),
        ):
            rendered = renderer.entries(article, FORMATS, article.topics)
            index.set_record(
                article.source, Path(article.source), None, row_of(article, rendered), ()
            )
        now = WHEN + timedelta(days=1)
        for ref, path in ((ALL, "all"), ((FeedKind.TOPIC, "ai"), "topics/ai")):
            shown = select.shown(index.members(ref), now, None)
            plan = select.plan(ref, index.name(ref), path, shown, index.topic_name)
            feed = select.materialise(plan, index.article)

            items = read_back(renderer.render(feed, fmt, index.entry), fmt)

            assert [(title, tags) for title, _, tags in items] == [
                ("a", ["ai"]),
                ("b", ["ai"]),
                ("c", ["ai", "Space"]),
            ]
        assert index.name((FeedKind.TOPIC, "ai")) == "ai"
    finally:
        index.close()


def test_a_topic_without_a_label_keeps_the_articles_own_spelling():
    feed = everything(art("a", topics=("AI", "Unlisted")), labels=(("ai", "ai"),))
    assert read_back(Renderer(SITE).render(feed, "atom"), "atom")[0][2] == ["ai", "Unlisted"]


# --- what readers show of an item --------------------------------------------------------------

RICH = art(
    "rich",
    title='Robots <script>alert("x")</script> & co',
    summary="First line\nsecond line\n\nA <b>new</b> paragraph",
    images=(Image("https://img.example.com/lead.png", 640, 360),),
    provider=Provider(
        "Tech & Daily", "tech.example", Image("https://tech.example/logo.png", 50, 50)
    ),
)
VIDEO = art(
    "clip",
    days_ago=1,
    link="https://youtube.com/watch?v=abc",
    images=(Image("https://i.ytimg.com/vi/abc/maxresdefault"),),  # no extension: the default
    provider=Provider("Tech & Daily", "tech.example"),
    video=True,
)
PLAIN = art("plain", days_ago=2, summary="", provider=None)


def provider_feed(*articles: Article) -> Feed:
    return Feed(FeedKind.PROVIDER, "tech-daily", "Tech & Daily", "providers/tech-daily", articles)


def bodies() -> dict[str, dict[str, str]]:
    """Each format's HTML body of each item, by title, as its readers get it."""
    renderer = Renderer(SITE)
    feed = provider_feed(RICH, VIDEO, PLAIN)
    found: dict[str, dict[str, str]] = {}
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(renderer.render(feed, fmt))
        assert not parsed.bozo, parsed.bozo_exception
        found[fmt] = {e.title: e.content[0].value for e in parsed.entries}
        assert {e.content[0].type for e in parsed.entries} == {"text/html"}
    items = json.loads(renderer.render(feed, "json"))["items"]
    found["json"] = {i["title"]: i["content_html"] for i in items}
    return found


def test_every_item_carries_an_html_body_built_from_escaped_plain_text():
    import html5lib

    for fmt, by_title in bodies().items():
        body = by_title[RICH.title]
        tree = html5lib.parseFragment(body, namespaceHTMLElements=False)
        img = tree.find(".//img")
        assert img is not None and img.get("src") == "https://img.example.com/lead.png", fmt
        assert (img.get("alt"), img.get("width"), img.get("height")) == (RICH.title, "640", "360")
        assert tree.find(".//script") is None and tree.find(".//b") is None, f"{fmt}: markup ran"
        paragraphs = ["".join(p.itertext()) for p in tree.iter("p")]
        assert paragraphs[1:] == [
            "First linesecond line",
            "A <b>new</b> paragraph",
            "Read on Tech & Daily",
        ], fmt
        assert tree.findall(".//br") and len(tree.findall(".//br")) == 1, "the excerpt's line break"
        link = tree.findall(".//a")[-1]
        assert link.get("href") == RICH.link
        video = html5lib.parseFragment(by_title[VIDEO.title], namespaceHTMLElements=False)
        assert "Watch on Tech & Daily" in "".join(video.itertext()), fmt
        plain = html5lib.parseFragment(by_title[PLAIN.title], namespaceHTMLElements=False)
        assert plain.find(".//img") is None
        assert ["".join(p.itertext()) for p in plain.iter("p")] == ["Read on news.example.com"], fmt


def test_the_lead_image_is_an_enclosure_readers_find():
    renderer = Renderer(SITE)
    feed = provider_feed(RICH, VIDEO, PLAIN)
    for fmt, want_length in (("rss", "0"), ("atom", None)):
        entries = {e.title: e for e in feedparser.parse(renderer.render(feed, fmt)).entries}
        rich = entries[RICH.title].enclosures
        assert [(x.href, x.type, x.get("length")) for x in rich] == [
            ("https://img.example.com/lead.png", "image/png", want_length)
        ], fmt
        video = entries[VIDEO.title]
        assert [x.type for x in video.enclosures] == ["image/jpeg"], "the configured default"
        assert video.link == VIDEO.link
        assert entries[PLAIN.title].enclosures == []
    items = {i["title"]: i for i in json.loads(renderer.render(feed, "json"))["items"]}
    assert items[RICH.title]["image"] == "https://img.example.com/lead.png"
    assert "attachments" not in items[RICH.title], "no size is known"


def test_a_video_names_its_player_and_never_an_authors_iframe():
    from lxml import etree

    renderer = Renderer(SITE)
    for fmt in ("rss", "atom"):
        root = etree.fromstring(renderer.render(provider_feed(VIDEO, RICH), fmt))
        players = root.findall(".//{http://search.yahoo.com/mrss/}player")
        assert [p.get("url") for p in players] == [VIDEO.link], fmt
        assert b"iframe" not in etree.tostring(root)


def test_a_provider_feed_shows_the_logo_most_of_its_items_carry():
    other = Provider("Tech & Daily", "tech.example", Image("https://tech.example/old.png"))
    feed = provider_feed(RICH, replace_provider(VIDEO, other), replace_provider(PLAIN, other))
    renderer = Renderer(SITE)
    atom = feedparser.parse(renderer.render(feed, "atom")).feed
    rss = feedparser.parse(renderer.render(feed, "rss")).feed
    doc = json.loads(renderer.render(feed, "json"))
    assert (
        atom.icon
        == rss.image.href
        == doc["icon"]
        == doc["favicon"]
        == "https://tech.example/old.png"
    )
    assert rss.image.title == "Tech & Daily — Example Feeds" and rss.image.link
    tie = provider_feed(RICH, replace_provider(VIDEO, other))
    assert (
        feedparser.parse(renderer.render(tie, "atom")).feed.icon == "https://tech.example/logo.png"
    )


def test_other_feeds_take_the_sites_icon_when_one_is_set():
    icon = "https://www.example.com/icon.png"
    with_icon = Renderer(Site(SITE.base_url, SITE.title, SITE.home_url, icon=icon))
    assert feedparser.parse(with_icon.render(everything(RICH), "atom")).feed.icon == icon
    assert json.loads(with_icon.render(everything(RICH), "json"))["icon"] == icon
    bare = Renderer(SITE)
    assert "icon" not in feedparser.parse(bare.render(everything(RICH), "atom")).feed
    assert "image" not in feedparser.parse(bare.render(everything(RICH), "rss")).feed


def replace_provider(article: Article, provider: Provider) -> Article:
    import dataclasses

    return dataclasses.replace(article, provider=provider)
