"""RSS 2.0, with Atom self (and hub) links, Dublin Core creators and Media RSS images."""

from __future__ import annotations

from typing import Any

from feedsync.formats.common import Format
from feedsync.formats.xml import ATOM_NS, XmlWriter, generator, parser
from feedsync.model import Feed

MEDIA_TYPE = "application/rss+xml"
SUFFIX = ".rss"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"


class RssWriter(XmlWriter):
    close = b"  </channel>"
    indent = b"    "

    def head(self, feed: Feed) -> bytes:
        from lxml import etree

        fg = generator(feed, self.site, MEDIA_TYPE, SUFFIX, rss=True)
        data: bytes = fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
        if not self.site.hub:
            return data
        # feedgen writes only the self link into RSS; WebSub needs rel="hub" beside it.
        root = etree.fromstring(data, parser())
        channel = root.find("channel")
        assert channel is not None
        self_link = channel.find(f"{{{ATOM_NS}}}link")
        hub = etree.Element(f"{{{ATOM_NS}}}link", href=self.site.hub, rel="hub")
        channel.insert(list(channel).index(self_link) + 1 if self_link is not None else 0, hub)
        return etree.tostring(root, pretty_print=True, encoding="UTF-8", xml_declaration=True)

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
