"""What every format says about a feed, and the shape each format module fills in."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol
from urllib.parse import quote

from feedsync.model import Article, Feed, FeedKind, Listing

# An empty feed still needs a date; a fixed one keeps it byte-stable.
EMPTY_FEED_DATE = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class Site:
    """What every feed says about where it lives."""

    base_url: str
    title: str
    home_url: str
    hub: str | None = None  # WebSub hub every feed declares, when one is configured


class Writer(Protocol):
    """One format's renderer for one site; made once per site, used from one thread."""

    def entry(self, article: Article, names: tuple[str, ...]) -> bytes:
        """The article's entry exactly as it appears inside a feed document.

        `names` are the category names for `article.topics`, in that order.
        """
        ...

    def document(self, feed: Feed, entries: Sequence[bytes]) -> bytes:
        """The whole feed document around entries made by `entry`, in the feed's order."""
        ...


@dataclass(frozen=True, slots=True)
class Format:
    """One output format, as the table lists it."""

    name: str  # the `formats` setting's value, and the key of pre-rendered entries
    label: str  # what people read: "RSS", "Atom", "JSON Feed"
    suffix: str  # of its files in the output folder
    media_type: str  # served as, and declared in links
    writer: Callable[[Site], Writer]  # how it renders, for one site
    outline_rank: int = 100  # OPML outlines point at the lowest-ranked configured format


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
