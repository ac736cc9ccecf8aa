"""Feed -> RSS 2.0 or Atom bytes; the only module that imports feedgen.

Everything that feedgen would otherwise stamp with "now" (feed updated/lastBuildDate, entry
updated) or with its version (generator) is set from the content, so the same input gives the
same bytes. feedgen formats RSS dates under `setlocale`, which is process-wide: render from one
thread at a time.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

from feedgen.feed import FeedGenerator

from feedsync import slug
from feedsync.model import Article, Feed, FeedKind
from feedsync.normalise import ID_NAMESPACE

EXTENSIONS = {"rss": ".rss", "atom": ".atom"}
MEDIA_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}
# An empty feed still needs a date; a fixed one keeps it byte-stable.
EMPTY_FEED_DATE = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class Site:
    """What every feed says about where it lives."""

    base_url: str
    title: str
    home_url: str


def file_name(feed: Feed, fmt: str) -> str:
    return feed.path + EXTENSIONS[fmt]


def url_for(site: Site, relative: str) -> str:
    """Absolute, percent-encoded URL of an output file (RFC 3986: no raw non-ASCII)."""
    return site.base_url + quote(relative, safe="/")


def feed_id(feed: Feed) -> str:
    """Independent of base_url, so moving the site does not make readers see new feeds."""
    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, 'feed:' + feed.path)}"


def feed_title(feed: Feed, site: Site) -> str:
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


def _entry(fg: FeedGenerator, article: Article, fmt: str, names: Mapping[str, str]) -> None:
    fe = fg.add_entry(order="append")
    fe.id(article.id)
    fe.guid(article.id, permalink=False)
    fe.title(article.title)
    fe.link(href=article.link, rel="alternate", type="text/html")
    if article.summary:
        # Summaries are plain text; escaping them makes HTML-reading clients show them as typed.
        fe.summary(html.escape(article.summary, quote=False), type="html")
    fe.published(article.published_at)
    fe.updated(article.updated_at)
    for topic in article.topics:
        fe.category(term=names.get(slug.key(topic), topic))
    if article.provider is not None:
        if fmt == "rss":
            fe.dc.dc_creator(article.provider.name)
        else:
            uri = f"https://{article.provider.domain}/" if article.provider.domain else None
            fe.author({"name": article.provider.name, **({"uri": uri} if uri else {})})
    if article.images:
        lead = article.images[0]
        size = {k: str(v) for k, v in (("width", lead.width), ("height", lead.height)) if v}
        fe.media.content({"url": lead.url, "medium": "image", **size}, group=None)
        fe.media.thumbnail({"url": lead.url, **size}, group=None)


def render(feed: Feed, fmt: str, site: Site) -> bytes:
    """The bytes of one feed file in `fmt` ('rss' or 'atom').

    Categories use the spelling each topic's own feed uses (`feed.labels`), so they agree.
    """
    fg = FeedGenerator()
    fg.load_extension("media")
    if fmt == "rss":
        fg.load_extension("dc")
    fg.id(feed_id(feed))
    fg.title(feed_title(feed, site))
    fg.description(feed_description(feed, site))
    fg.author({"name": site.title})
    fg.link(href=url_for(site, file_name(feed, fmt)), rel="self", type=MEDIA_TYPES[fmt])
    fg.link(href=feed.link or site.home_url, rel="alternate", type="text/html")
    fg.generator("feedsync")
    fg.updated(updated(feed))
    for article in feed.articles:
        _entry(fg, article, fmt, dict(feed.labels))
    if fmt == "rss":
        return fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
