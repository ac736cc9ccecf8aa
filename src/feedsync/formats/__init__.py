"""The table of output formats: the one place that lists them.

Each format is a module of its own (`rss`, `atom`, `jsonfeed`, and `page`, the feed's web page
for people) that declares its name, file suffix, media type and how it renders an entry and a
whole feed; this table collects them, and the configuration, the index, the pipeline, the
listings, the server and WebSub all read it. Adding a format is one new module and one line
here. Listings, autodiscovery and WebSub offer only the formats that are feeds (`feed=True`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from feedsync.formats import atom, jsonfeed, page, rss
from feedsync.formats.common import Format, Site, Writer

__all__ = ["FORMATS", "Format", "Site", "Writer", "feeds", "file_name", "get", "suffixes"]

# In the order feeds are offered (index.html links, the default `formats` setting).
FORMATS: dict[str, Format] = {
    f.name: f for f in (rss.FORMAT, atom.FORMAT, jsonfeed.FORMAT, page.FORMAT)
}


def get(name: str) -> Format:
    return FORMATS[name]


def feeds(names: Iterable[str]) -> tuple[str, ...]:
    """Those of `names` that are feeds readers subscribe to, in the order given."""
    return tuple(name for name in names if FORMATS[name].feed)


def file_name(path: str, fmt: str) -> str:
    """A feed's file in `fmt`, relative to the output folder (`path` has no suffix)."""
    return path + FORMATS[fmt].suffix


def suffixes(feed_only: bool = False) -> tuple[str, ...]:
    """The suffixes of the files feedsync writes for a feed (only its feeds', with `feed_only`)."""
    return tuple(f.suffix for f in FORMATS.values() if f.feed or not feed_only)


def outline_format(formats: Sequence[str]) -> str:
    """The format an OPML outline points readers at: the best supported feed configured."""
    return min(feeds(formats), key=lambda name: FORMATS[name].outline_rank)
