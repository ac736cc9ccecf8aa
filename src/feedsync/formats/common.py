"""What every format says about a feed, and the shape each format module fills in."""

from __future__ import annotations

import html
import re
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol
from urllib.parse import quote, urlsplit

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
    icon: str | None = None  # the feeds' icon where no provider logo gives one
    image_type: str = "image/jpeg"  # an image's type when its URL's extension does not say
    formats: tuple[str, ...] = ()  # the configured formats: a feed's page links to the others

    @property
    def pages(self) -> bool:
        """Does every feed have a readable page (the `html` format)?"""
        return PAGE in self.formats


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
    feed: bool = True  # a document readers subscribe to (False: the feed's page, for people)
    stored: bool = True  # entries pre-rendered at read time and kept in the index


def url_for(site: Site, relative: str) -> str:
    """Absolute, percent-encoded URL of an output file (RFC 3986: no raw non-ASCII)."""
    return site.base_url + quote(relative, safe="/")


# The feed page's format (formats/page.py); named here because every format links to it.
PAGE = "html"
PAGE_SUFFIX = ".html"


def alternate(feed: Feed | Listing, site: Site) -> str:
    """The web page a feed's documents name as their HTML alternate: the feed's own page when
    pages are on, else the provider's site (provider feeds) or the site's home."""
    if site.pages:
        home = feed.home if isinstance(feed, Feed) else feed.path
        return url_for(site, home + PAGE_SUFFIX)
    return feed.link or site.home_url


def feed_id(feed: Feed) -> str:
    """Independent of base_url, so moving the site does not make readers see new feeds."""
    from feedsync.normalise import ID_NAMESPACE

    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, 'feed:' + feed.home)}"  # archives: the feed's


def feed_title(feed: Feed | Listing, site: Site) -> str:
    """The operator's title as written, else the feed's name with the site's."""
    if feed.title:
        return feed.title
    return site.title if feed.kind is FeedKind.ALL else f"{feed.name} — {site.title}"


def feed_description(feed: Feed, site: Site) -> str:
    if feed.description:
        return feed.description
    if feed.kind is FeedKind.CUSTOM:
        return f"{feed.title or feed.name}, from {site.title}"
    if feed.kind is FeedKind.TOPIC:
        return f"Articles about {feed.name}, from {site.title}"
    if feed.kind is FeedKind.PROVIDER:
        return f"Articles from {feed.name}, via {site.title}"
    return f"Every published article from {site.title}"


def counted(total: int, shown: int) -> str:
    """How many published articles a feed covers, and that it holds the newest of them."""
    text = f"{total} article{'' if total == 1 else 's'}"
    return text if total == shown else f"{text} · newest {shown} in the feed"


def updated(feed: Feed, tombstones: bool = False) -> datetime:
    """The newest item's time, never the clock; with `tombstones` (Atom, the one format that
    carries them), also the newest tombstone's: a removal is news there."""
    stones = (when for _, when in feed.tombstones) if tombstones else ()
    return max((*(a.updated_at for a in feed.articles), *stones), default=EMPTY_FEED_DATE)


_IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
}
_PARAGRAPHS = re.compile(r"\n[ \t]*\n\s*")


def image_type(url: str, default: str) -> str:
    """An image's media type from its URL's extension (query left out), else `default`."""
    path = urlsplit(url).path.lower()
    dot = path.rfind(".")
    return _IMAGE_TYPES.get(path[dot:], default) if dot > path.rfind("/") else default


def source_name(article: Article) -> str:
    """Who the article is from, as a reader's "Read on ..." link names it."""
    if article.provider is not None:
        return article.provider.name
    return urlsplit(article.link).hostname or article.link


def item_html(article: Article) -> str:
    """The body readers show for an item: the lead image, the excerpt as paragraphs (its own
    line breaks kept) and a link to the article. Built from plain data, never from author
    HTML: everything an author typed is escaped text here. One line, so XML splicing holds."""
    esc = html.escape
    parts = []
    if article.images:
        lead = article.images[0]
        size = "".join(
            f' {k}="{v}"' for k, v in (("width", lead.width), ("height", lead.height)) if v
        )
        parts.append(f'<p><img src="{esc(lead.url)}" alt="{esc(article.title)}"{size}></p>')
    parts.extend(paragraphs(article.summary))
    verb = "Watch" if article.video else "Read"
    name = esc(source_name(article), quote=False)
    parts.append(f'<p><a href="{esc(article.link)}">{verb} on {name}</a></p>')
    return "".join(parts)


def paragraphs(text: str) -> list[str]:
    """Plain text as escaped HTML paragraphs: blank lines part them, single breaks stay."""
    out = []
    for paragraph in _PARAGRAPHS.split(text.strip()):
        lines = [html.escape(line.strip(), quote=False) for line in paragraph.split("\n")]
        if any(lines):
            out.append(f"<p>{'<br>'.join(line for line in lines if line)}</p>")
    return out


def feed_icon(feed: Feed, site: Site) -> str | None:
    """A provider feed's logo: the one most of its items' providers carry (ties: the first URL
    in order), so the bytes do not flip; other feeds, and providers without one, the site's.
    An icon the operator set for the feed comes first."""
    if feed.icon:
        return feed.icon
    if feed.kind is FeedKind.PROVIDER:
        logos = Counter(
            a.provider.logo.url for a in feed.articles if a.provider and a.provider.logo
        )
        if logos:
            return min(logos, key=lambda url: (-logos[url], url))
    return site.icon
