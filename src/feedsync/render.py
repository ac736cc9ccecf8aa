"""Feed -> RSS 2.0 or Atom bytes; the only module that imports feedgen.

Everything that feedgen would otherwise stamp with "now" (feed updated/lastBuildDate, entry
updated) or with its version (generator) is set from the content, so the same input gives the
same bytes. feedgen formats RSS dates under `setlocale`, which is process-wide: render from one
thread at a time.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from feedsync import model, slug
from feedsync.model import Article, Feed, FeedKind, Listing

if TYPE_CHECKING:
    from lxml import etree

# feedgen and lxml are imported where used: a run that renders nothing should not pay for them.

EXTENSIONS = model.EXTENSIONS


@cache
def _parser() -> etree.XMLParser:
    from lxml import etree

    return etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)


MEDIA_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_NS = "http://www.w3.org/2005/Atom"
# An empty feed still needs a date; a fixed one keeps it byte-stable.
EMPTY_FEED_DATE = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class Site:
    """What every feed says about where it lives."""

    base_url: str
    title: str
    home_url: str
    hub: str | None = None  # WebSub hub every feed declares, when one is configured


def file_name(feed: Feed | Listing, fmt: str) -> str:
    return feed.path + EXTENSIONS[fmt]


def url_for(site: Site, relative: str) -> str:
    """Absolute, percent-encoded URL of an output file (RFC 3986: no raw non-ASCII)."""
    return site.base_url + quote(relative, safe="/")


def feed_id(feed: Feed) -> str:
    """Independent of base_url, so moving the site does not make readers see new feeds."""
    from feedsync.normalise import ID_NAMESPACE

    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, 'feed:' + feed.path)}"


def feed_title(feed: Feed | Listing, site: Site) -> str:
    return site.title if feed.kind is FeedKind.ALL else f"{feed.name} — {site.title}"


def feed_description(feed: Feed, site: Site) -> str:
    if feed.kind is FeedKind.TOPIC:
        return f"Articles about {feed.name}, from {site.title}"
    if feed.kind is FeedKind.PROVIDER:
        return f"Articles from {feed.name}, via {site.title}"
    return f"Every published article from {site.title}"


def updated(feed: Feed) -> datetime:
    """The newest item's time, never the clock."""
    return max((a.updated_at for a in feed.articles), default=EMPTY_FEED_DATE)


def _feed_entry(article: Article, labels: tuple[str, ...]) -> Any:
    """The article as one feedgen entry that can give both its RSS item and its Atom entry.

    The provider is both the Atom author (feedgen leaves an author without email out of RSS)
    and the RSS `dc:creator` (the Dublin Core extension is registered for RSS only).
    """
    from feedgen.entry import FeedEntry
    from feedgen.ext.dc import DcEntryExtension
    from feedgen.ext.media import MediaEntryExtension

    fe = FeedEntry()
    # register_extension with the classes: load_extension("media") retries a failing import
    # of a module that does not exist on every call, which costs more than the entry itself.
    fe.register_extension("media", MediaEntryExtension)
    fe.register_extension("dc", DcEntryExtension, atom=False, rss=True)
    fe.id(article.id)
    fe.guid(article.id, permalink=False)
    fe.title(article.title)
    fe.link(href=article.link, rel="alternate", type="text/html")
    if article.summary:
        # Summaries are plain text; escaping them makes HTML-reading clients show them as typed.
        fe.summary(html.escape(article.summary, quote=False), type="html")
    fe.published(article.published_at)
    fe.updated(article.updated_at)
    for label in labels:
        fe.category(term=label)
    if article.provider is not None:
        fe.dc.dc_creator(article.provider.name)
        uri = f"https://{article.provider.domain}/" if article.provider.domain else None
        fe.author({"name": article.provider.name, **({"uri": uri} if uri else {})})
    if article.images:
        lead = article.images[0]
        size = {k: str(v) for k, v in (("width", lead.width), ("height", lead.height)) if v}
        fe.media.content({"url": lead.url, "medium": "image", **size}, group=None)
        fe.media.thumbnail({"url": lead.url, **size}, group=None)
    return fe


def _entry(article: Article, fmt: str, labels: tuple[str, ...]) -> etree._Element:
    """One item/entry element; `labels` are the category names for `article.topics`."""
    fe = _feed_entry(article, labels)
    return fe.rss_entry() if fmt == "rss" else fe.atom_entry()


def _head(feed: Feed, fmt: str, site: Site) -> bytes:
    """The feed without entries, pretty-printed; nothing in it is stamped with "now"."""
    from feedgen.feed import FeedGenerator
    from lxml import etree

    fg = FeedGenerator()
    fg.load_extension("media")
    if fmt == "rss":
        fg.load_extension("dc")
    fg.id(feed_id(feed))
    fg.title(feed_title(feed, site))
    fg.description(feed_description(feed, site))
    fg.author({"name": site.title})
    fg.link(href=url_for(site, file_name(feed, fmt)), rel="self", type=MEDIA_TYPES[fmt])
    if site.hub:
        fg.link(href=site.hub, rel="hub")
    fg.link(href=feed.link or site.home_url, rel="alternate", type="text/html")
    fg.generator("feedsync")
    fg.updated(updated(feed))
    if fmt == "atom":
        return fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    data = fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    if not site.hub:
        return data
    # feedgen writes only the self link into RSS; WebSub needs rel="hub" beside it.
    root = etree.fromstring(data, _parser())
    channel = root.find("channel")
    assert channel is not None
    self_link = channel.find(f"{{{ATOM_NS}}}link")
    hub = etree.Element(f"{{{ATOM_NS}}}link", href=site.hub, rel="hub")
    channel.insert(list(channel).index(self_link) + 1 if self_link is not None else 0, hub)
    return etree.tostring(root, pretty_print=True, encoding="UTF-8", xml_declaration=True)


_CLOSE = {"rss": b"  </channel>", "atom": b"</feed>"}
_INDENT = {"rss": b"    ", "atom": b"  "}
_XMLNS = re.compile(rb' xmlns(?::[A-Za-z_][\w.-]*)?="[^"]*"')


def _split(head: bytes, fmt: str) -> tuple[bytes, bytes]:
    """Where entries go: before the channel's (RSS) or the feed's (Atom) closing tag."""
    at = head.rfind(_CLOSE[fmt])
    return head[:at], head[at:]


Stored = Callable[[Article, str], "bytes | None"]


class Renderer:
    """Renders feeds from pre-serialised entries, building each entry once.

    An article usually sits in several feeds (everything, its topics, its provider), and an
    edit re-renders whole feeds: keeping each entry's bytes (about 1 kB) in a bounded LRU makes
    an edit cost a few joins instead of rebuilding every entry. The bytes are exactly what
    feedgen pretty-prints for the entry inside a feed, so cached and fresh output are identical.
    """

    def __init__(self, site: Site, cache_size: int = 50_000) -> None:
        self.site = site
        self.cache_size = cache_size
        self._entries: OrderedDict[tuple[str, Article, tuple[str, ...]], bytes] = OrderedDict()
        self._empty: dict[str, bytes] = {}
        self._nsmap: dict[str, dict[str, str]] = {}

    def _serialise(self, article: Article, fmt: str, names: tuple[str, ...]) -> bytes:
        """The entry's bytes exactly as they appear inside a pretty-printed feed of `fmt`.

        The slow, obviously right way (serialise the whole feed with the entry, cut it out):
        kept as the reference the property tests hold the fast `entry` to.
        """
        from lxml import etree

        if fmt not in self._empty:
            self._empty[fmt] = _head(Feed(FeedKind.ALL, "", "", "all", ()), fmt, self.site)
        root = etree.fromstring(self._empty[fmt], _parser())  # fresh: cleanup changes it
        parent = root.find("channel") if fmt == "rss" else root
        assert parent is not None
        element = _entry(article, fmt, names)
        parent.append(element)
        # Entries built alone declare their own namespaces; use the feed's prefixes.
        etree.cleanup_namespaces(root, top_nsmap=root.nsmap)
        whole = etree.tostring(root, pretty_print=True, encoding="UTF-8")
        parent.remove(element)
        prefix, suffix = _split(etree.tostring(root, pretty_print=True, encoding="UTF-8"), fmt)
        if not (whole.startswith(prefix) and whole.endswith(suffix)):  # pragma: no cover
            raise AssertionError("entry serialisation does not nest in its feed")
        return whole[len(prefix) : len(whole) - len(suffix)]

    def _fast(
        self,
        article: Article,
        fmt: str,
        names: tuple[str, ...],
        element: etree._Element | None = None,
    ) -> bytes:
        """The same bytes as `_serialise`, from the entry serialised on its own.

        Alone, an entry is indented from column 0 and declares the namespaces it uses; inside
        the feed it is indented one level (Atom) or two (RSS) deeper and the feed declares
        them. Text can hold neither a raw '<' nor (in attributes) a raw newline, so every line
        that starts with '<' after its indentation is markup, and its start tag ends at the
        first '>'.
        """
        from lxml import etree

        if fmt not in self._nsmap:
            if fmt not in self._empty:
                self._empty[fmt] = _head(Feed(FeedKind.ALL, "", "", "all", ()), fmt, self.site)
            root = etree.fromstring(self._empty[fmt], _parser())
            self._nsmap[fmt] = {k: v for k, v in root.nsmap.items() if k is not None}
        if element is None:
            element = _entry(article, fmt, names)
        etree.cleanup_namespaces(element, top_nsmap=self._nsmap[fmt])  # the feed's prefixes
        raw = etree.tostring(element, pretty_print=True, encoding="UTF-8")
        indent = _INDENT[fmt]
        out = []
        for line in raw.split(b"\n"):
            if line.lstrip(b" ").startswith(b"<"):
                end = line.find(b">")
                if b" xmlns" in line[:end]:
                    line = _XMLNS.sub(b"", line[:end]) + line[end:]
                line = indent + line
            out.append(line)
        return b"\n".join(out)

    def entries(
        self, article: Article, formats: Iterable[str], names: tuple[str, ...]
    ) -> dict[str, bytes]:
        """The article's entries in several formats at once (one feedgen entry for XML)."""
        fe = None
        found = {}
        for fmt in formats:
            if fmt == "json":
                found[fmt] = json_item(article, names)
                continue
            fe = fe or _feed_entry(article, names)
            element = fe.rss_entry() if fmt == "rss" else fe.atom_entry()
            found[fmt] = self._fast(article, fmt, names, element)
        return found

    def entry(self, article: Article, fmt: str, names: tuple[str, ...]) -> bytes:
        """One entry's bytes as they appear inside a feed of `fmt`, with these category names."""
        if fmt == "json":
            return json_item(article, names)
        return self._fast(article, fmt, names)

    def _cached_entry(
        self, article: Article, fmt: str, labels: Mapping[str, str], stored: Stored | None
    ) -> bytes:
        names = tuple(labels.get(slug.key(t), t) for t in article.topics)
        if stored is not None and names == article.topics:
            data = stored(article, fmt)
            if data is not None:
                return data
        key = (fmt, article, names)
        data = self._entries.get(key)
        if data is None:
            data = self._entries[key] = self.entry(article, fmt, names)
            if len(self._entries) > self.cache_size:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        return data

    def render(self, feed: Feed, fmt: str, stored: Stored | None = None) -> bytes:
        """The bytes of one feed file in `fmt` ('rss', 'atom' or 'json').

        Categories use the spelling each topic's own feed uses (`feed.labels`), so they agree.
        `stored` gives entries rendered earlier with the article's own spellings, if any.
        """
        labels = dict(feed.labels)
        entries = [self._cached_entry(article, fmt, labels, stored) for article in feed.articles]
        if fmt == "json":
            return json_feed(feed, self.site, entries)
        before, after = _split(_head(feed, fmt, self.site), fmt)
        return b"".join((before, *entries, after))


def _json_time(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def json_item(a: Article, names: tuple[str, ...]) -> bytes:
    """One JSON Feed item exactly as it appears (indented) in the `items` list of a feed."""
    item: dict[str, object] = {
        "id": a.id,
        "url": a.link,
        "title": a.title,
        "content_text": a.summary or a.title,
    }
    if a.summary:
        item["summary"] = a.summary
    if a.images:
        item["image"] = a.images[0].url
    item["date_published"] = _json_time(a.published_at)
    item["date_modified"] = _json_time(a.updated_at)
    if a.provider is not None:
        author: dict[str, str] = {"name": a.provider.name}
        if a.provider.domain:
            author["url"] = f"https://{a.provider.domain}/"
        item["authors"] = [author]
    if names:
        item["tags"] = list(names)
    # JSON text never holds a raw newline, so indenting line by line is exact.
    text = json.dumps(item, ensure_ascii=False, indent=2)
    return ("    " + text.replace("\n", "\n    ")).encode("utf-8")


def json_feed(feed: Feed, site: Site, items: list[bytes] | None = None) -> bytes:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1), as deterministic as the XML formats.

    `items` are the feed's articles as `json_item` bytes, when the caller has them already.
    """
    if items is None:
        labels = dict(feed.labels)
        items = [
            json_item(a, tuple(labels.get(slug.key(t), t) for t in a.topics)) for a in feed.articles
        ]
    document: dict[str, object] = {
        "version": JSON_FEED_VERSION,
        "title": feed_title(feed, site),
        "home_page_url": feed.link or site.home_url,
        "feed_url": url_for(site, file_name(feed, "json")),
        "description": feed_description(feed, site),
        "authors": [{"name": site.title}],
    }
    if site.hub:
        document["hubs"] = [{"type": "WebSub", "url": site.hub}]
    document["items"] = []
    head = json.dumps(document, ensure_ascii=False, indent=2)
    if not items:
        return (head + "\n").encode("utf-8")
    assert head.endswith("[]\n}")
    return b"".join((head[:-4].encode("utf-8"), b"[\n", b",\n".join(items), b"\n  ]\n}\n"))


def render(feed: Feed, fmt: str, site: Site) -> bytes:
    """Render one feed with no cache (tests and one-off callers)."""
    return Renderer(site, cache_size=0).render(feed, fmt)
