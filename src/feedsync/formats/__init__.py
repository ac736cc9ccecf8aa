"""The table of output formats: the one place that lists them.

Each format is a module of its own (`rss`, `atom`, `jsonfeed`) that declares its name, file
suffix, media type and how it renders an entry and a whole feed; this table collects them, and
the configuration, the index, the pipeline, the listings, the server and WebSub all read it.
Adding a format is one new module and one line here.
"""

from __future__ import annotations

from collections.abc import Sequence

from feedsync.formats import atom, jsonfeed, rss
from feedsync.formats.common import Format, Site, Writer

__all__ = ["FORMATS", "Format", "Site", "Writer", "file_name", "get", "suffixes"]

# In the order feeds are offered (index.html links, the default `formats` setting).
FORMATS: dict[str, Format] = {f.name: f for f in (rss.FORMAT, atom.FORMAT, jsonfeed.FORMAT)}


def get(name: str) -> Format:
    return FORMATS[name]


def file_name(path: str, fmt: str) -> str:
    """A feed's file in `fmt`, relative to the output folder (`path` has no suffix)."""
    return path + FORMATS[fmt].suffix


def suffixes() -> tuple[str, ...]:
    """Every feed file suffix: what the output folder holds that feedsync owns."""
    return tuple(f.suffix for f in FORMATS.values())


def outline_format(formats: Sequence[str]) -> str:
    """The format an OPML outline points readers at: the best supported one configured."""
    return min(formats, key=lambda name: FORMATS[name].outline_rank)
