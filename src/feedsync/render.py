"""Feed -> bytes in any format of the table, each entry built once.

The formats themselves live in `formats/`; this is what they share: a feed is its document
around its entries, and an entry's bytes depend only on the article and its category names.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping

from feedsync import formats, slug
from feedsync.formats import Site, Writer
from feedsync.model import Article, Feed

__all__ = ["Renderer", "Site", "Stored"]

Stored = Callable[[Article, str], "bytes | None"]


class Renderer:
    """Renders feeds from pre-serialised entries, building each entry once.

    An article usually sits in several feeds (everything, its topics, its provider), and an
    edit re-renders whole feeds: keeping each entry's bytes (about 1 kB) in a bounded LRU makes
    an edit cost a few joins instead of rebuilding every entry. The bytes are exactly what the
    format puts inside a feed, so cached and fresh output are identical.
    """

    def __init__(self, site: Site, cache_size: int = 50_000) -> None:
        self.site = site
        self.cache_size = cache_size
        self._entries: OrderedDict[tuple[str, Article, tuple[str, ...]], bytes] = OrderedDict()
        self._writers: dict[str, Writer] = {}

    def writer(self, fmt: str) -> Writer:
        found = self._writers.get(fmt)
        if found is None:
            found = self._writers[fmt] = formats.get(fmt).writer(self.site)
        return found

    def entry(self, article: Article, fmt: str, names: tuple[str, ...]) -> bytes:
        """One entry's bytes as they appear inside a feed of `fmt`, with these category names."""
        return self.writer(fmt).entry(article, names)

    def entries(
        self, article: Article, wanted: Iterable[str], names: tuple[str, ...]
    ) -> dict[str, bytes]:
        """The article's entries in several formats at once (pre-rendering at read time)."""
        return {fmt: self.entry(article, fmt, names) for fmt in wanted}

    def _cached_entry(
        self, article: Article, fmt: str, labels: Mapping[str, str], stored: Stored | None
    ) -> bytes:
        names = tuple(labels.get(slug.key(t), t) for t in article.topics)
        if stored is not None and names == article.topics and formats.get(fmt).stored:
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
        """The bytes of one feed file in `fmt` (a name in the format table).

        Categories use the spelling each topic's own feed uses (`feed.labels`), so they agree.
        `stored` gives entries rendered earlier with the article's own spellings, if any.
        """
        labels = dict(feed.labels)
        entries = [self._cached_entry(article, fmt, labels, stored) for article in feed.articles]
        return self.writer(fmt).document(feed, entries)
