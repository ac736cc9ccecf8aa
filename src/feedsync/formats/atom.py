"""Atom (RFC 4287), with Media RSS images."""

from __future__ import annotations

from typing import Any

from feedsync.formats.common import Format, image_type
from feedsync.formats.xml import XmlWriter, generator
from feedsync.model import Article, Feed

MEDIA_TYPE = "application/atom+xml"
SUFFIX = ".atom"


class AtomWriter(XmlWriter):
    close = b"</feed>"
    indent = b"  "

    def head(self, feed: Feed) -> bytes:
        fg = generator(feed, self.site, MEDIA_TYPE, SUFFIX, rss=False)
        data: bytes = fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
        return data

    def element(self, fe: Any) -> Any:
        return fe.atom_entry()

    def complete(self, element: Any, article: Article) -> None:
        # feedgen 1.0 writes an entry's links with `href` only (it reads rel and type from the
        # element it has just made): the second link, the lead image, is the enclosure.
        links = element.findall("link")  # unqualified: the feed's default namespace is Atom
        if article.images and len(links) > 1:
            lead = article.images[0].url
            links[1].set("rel", "enclosure")
            links[1].set("type", image_type(lead, self.site.image_type))


# OPML outlines point at Atom first: its dates and ids are the best specified.
FORMAT = Format("atom", "Atom", SUFFIX, MEDIA_TYPE, AtomWriter, outline_rank=1)
