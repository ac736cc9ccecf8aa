"""Atom (RFC 4287), with Media RSS images."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from feedsync.formats.common import Format
from feedsync.formats.xml import XmlWriter, generator, history
from feedsync.model import Feed

TOMBSTONES = "http://purl.org/atompub/tombstones/1.0"  # RFC 6721

MEDIA_TYPE = "application/atom+xml"
SUFFIX = ".atom"


class AtomWriter(XmlWriter):
    close = b"</feed>"
    indent = b"  "
    tombstones = True

    def build(self, feed: Feed, when: datetime, icon: str | None) -> bytes:
        fg = generator(feed, self.site, MEDIA_TYPE, SUFFIX, rss=False, when=when, icon=icon)
        data: bytes = fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
        return history(data, feed, None, ())

    def date_text(self, when: datetime) -> str:
        return when.isoformat()  # updated, as feedgen writes it

    def document(self, feed: Feed, entries: Sequence[bytes]) -> bytes:
        """The feed with its tombstones (RFC 6721) before the first entry: the RFC 4287
        schema takes foreign elements among the feed's metadata, not after its entries."""
        if not feed.tombstones:
            return super().document(feed, entries)
        before, after = self.split(self.head(feed))
        stones = [
            self.indent
            + f'<at:deleted-entry xmlns:at="{TOMBSTONES}" ref="{escape(id_)}"'
            f' when="{when.isoformat().replace("+00:00", "Z")}"/>\n'.encode()
            for id_, when in feed.tombstones
        ]
        return b"".join((before, *stones, *entries, after))

    def element(self, fe: Any) -> Any:
        entry = fe.atom_entry()
        # feedgen 1.0 writes an entry's links with `href` only (it reads rel and type from the
        # element it has just made): give the enclosure what feedgen was told. The alternate
        # link stays bare (alternate is the default). Unqualified: the feed's default
        # namespace is Atom.
        for element, link in zip(entry.findall("link"), fe.link(), strict=True):
            if link.get("rel") == "enclosure":
                element.set("rel", "enclosure")
                element.set("type", link["type"])
        return entry


# OPML outlines point at Atom first: its dates and ids are the best specified.
FORMAT = Format("atom", "Atom", SUFFIX, MEDIA_TYPE, AtomWriter, outline_rank=1)
