"""Plain data shared by every stage: articles in, feeds out, problems on the side."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path

INDEX_PAGE = "index.html"  # the listings, written after the feeds they link to
OPML_FILE = "feeds.opml"
STYLESHEET = "feeds.css"  # the look of index.html and the feed pages (no inline style: CSP)


class Severity(str, Enum):
    """An error skips the file (exit 1); a warning is a documented repair and keeps it."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """Something about one input file a person should look at, with where and why."""

    path: Path
    line: int | None
    reason: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return f"{self.path}:{self.line or '?'}: {self.severity.value}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    """The publisher of an article; its name is what provider feeds group by."""

    name: str
    domain: str | None = None
    logo: Image | None = None  # the first of `provider.images`: provider feeds show it


@dataclass(frozen=True, slots=True)
class Article:
    """One article as feeds show it; `source` is its path relative to the content folder."""

    id: str
    source: str
    title: str
    summary: str
    link: str
    published_at: datetime
    updated_at: datetime
    published: bool
    provider: Provider | None = None
    topics: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    video: bool = False  # `type: video`: its link is the video, readers get a player link


class FeedKind(str, Enum):
    ALL = "all"
    TOPIC = "topic"
    PROVIDER = "provider"
    CUSTOM = "custom"  # the operator's own (custom_feeds): a union of topics and providers


@dataclass(frozen=True, slots=True)
class History:
    """A feed document's RFC 5005 links: output paths without suffix (the format adds its own)."""

    prev: str | None = None  # prev-archive: the newest archive (subscription documents), or
    #                          the archive before this one
    next: str | None = None  # next-archive: the archive after this one
    current: str | None = None  # set on archive documents: their feed's subscription document
    archives: tuple[str, ...] = ()  # every archive of the feed, newest first (for its page)


@dataclass(frozen=True, slots=True)
class Feed:
    """One feed's content, format-free; `path` is relative to the output folder, no suffix."""

    kind: FeedKind
    key: str
    name: str
    path: str
    articles: tuple[Article, ...]
    link: str | None = None
    labels: tuple[tuple[str, str], ...] = ()  # topic key -> the name its feed uses
    total: int | None = None  # published articles it covers (None: those it shows)
    title: str | None = None  # the operator's title, used as written (else name + site)
    description: str | None = None  # the operator's description
    icon: str | None = None  # the operator's icon URL
    tombstones: tuple[tuple[str, datetime], ...] = ()  # (id, when) of articles that left it
    history: History = field(default_factory=History)

    @property
    def home(self) -> str:
        """The path of the feed itself: an archive document's is its subscription document's."""
        return self.history.current or self.path

    @property
    def covers(self) -> int:
        """How many published articles the feed covers; it shows the newest of them."""
        return len(self.articles) if self.total is None else self.total


@dataclass(frozen=True, slots=True)
class Listing:
    """A feed as index.html and feeds.opml show it: its items' count and dates, not the items.

    Kept in the index for every feed, so the listings can be rebuilt without loading articles.
    """

    kind: FeedKind
    key: str
    name: str
    path: str
    link: str | None
    count: int
    newest: datetime | None  # the newest item's publication time
    updated: datetime | None  # the latest item update
    total: int  # published articles the feed covers; it holds the newest `count`
    title: str | None = None  # the operator's title for it, if any

    @property
    def shown_name(self) -> str:
        """What the listings call it: the operator's title, else its name."""
        return self.title or self.name

    @classmethod
    def of(cls, feed: Feed, total: int | None = None) -> Listing:
        articles = feed.articles
        return cls(
            feed.kind,
            feed.key,
            feed.name,
            feed.path,
            feed.link,
            len(articles),
            articles[0].published_at if articles else None,
            max(a.updated_at for a in articles) if articles else None,
            feed.covers if total is None else total,
            feed.title,
        )


@dataclass(frozen=True, slots=True)
class Report:
    """What one run did, for the summary line, the exit code and (later) the daemon status."""

    files_read: int = 0
    articles: int = 0
    published: int = 0
    scheduled: int = 0
    feeds: int = 0
    written: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = field(default_factory=tuple)
    next_due: datetime | None = None  # when the next scheduled article comes out

    @property
    def files_with_errors(self) -> int:
        return len({p.path for p in self.problems if p.severity is Severity.ERROR})

    @property
    def exit_code(self) -> int:
        return 1 if self.files_with_errors else 0

    def summary(self) -> str:
        return (
            f"{self.files_read} files read, {self.published} articles published"
            f" ({self.scheduled} scheduled), {self.feeds} feeds: {len(self.written)} files written,"
            f" {len(self.unchanged)} unchanged, {len(self.removed)} removed;"
            f" {self.files_with_errors} files with errors"
        )
