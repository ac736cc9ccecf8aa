"""RSS 2.0, with Atom self (and hub) links, Dublin Core creators and Media RSS images."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from feedsync.formats.common import Format
from feedsync.formats.xml import RSS_ATOM_LINKS, XmlWriter, generator, history
from feedsync.model import Feed

MEDIA_TYPE = "application/rss+xml"
SUFFIX = ".rss"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"


class RssWriter(XmlWriter):
    close = b"  </channel>"
    indent = b"    "
    tombstones = False

    def build(self, feed: Feed, when: datetime, icon: str | None) -> bytes:
        fg = generator(feed, self.site, MEDIA_TYPE, SUFFIX, rss=True, when=when, icon=icon)
        data: bytes = fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
        # feedgen writes only the self link into RSS; WebSub's hub and RFC 5005's links go
        # beside it as atom:link.
        links = [link for link in fg.link() if link.get("rel") in RSS_ATOM_LINKS]
        return history(data, feed, "channel", links)

    def date_text(self, when: datetime) -> str:
        """lastBuildDate as feedgen writes it (`formatRFC2822`: strftime under the C locale),
        without its three process-wide `setlocale` calls."""
        return (
            f"{_DAYS[when.weekday()]}, {when.day:02d} {_MONTHS[when.month - 1]} {when.year}"
            f" {when:%H:%M:%S %z}"
        )

    def entry_date_text(self, when: datetime, which: str) -> str:
        # feedgen writes an item's pubDate only; `updated` never shows in RSS
        return self.date_text(when)

    def element(self, fe: Any) -> Any:
        item = fe.rss_entry()
        if fe.description() is None:
            # Without a summary feedgen puts the HTML body into `description`; it belongs in
            # `content:encoded`, and an item with no excerpt has no description, as before.
            body = item.find("description")
            if body is not None:
                body.tag = CONTENT_ENCODED
        return item


FORMAT = Format("rss", "RSS", SUFFIX, MEDIA_TYPE, RssWriter, outline_rank=2)
