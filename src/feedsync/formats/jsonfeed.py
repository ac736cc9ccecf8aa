"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), as deterministic as the XML formats."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from feedsync.formats.common import (
    Format,
    Site,
    alternate,
    feed_description,
    feed_icon,
    feed_title,
    item_html,
    url_for,
)
from feedsync.model import Article, Feed

VERSION = "https://jsonfeed.org/version/1.1"
MEDIA_TYPE = "application/feed+json"
SUFFIX = ".json"


def _time(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


class JsonFeedWriter:
    def __init__(self, site: Site) -> None:
        self.site = site

    def entry(self, article: Article, names: tuple[str, ...]) -> bytes:
        """One item exactly as it appears (indented) in the `items` list of a feed."""
        a = article
        item: dict[str, object] = {
            "id": a.id,
            "url": a.link,
            "title": a.title,
            "content_html": item_html(a),
            "content_text": a.summary or a.title,
        }
        if a.summary:
            item["summary"] = a.summary
        if a.images:
            item["image"] = a.images[0].url
        item["date_published"] = _time(a.published_at)
        item["date_modified"] = _time(a.updated_at)
        if a.provider is not None:
            author: dict[str, str] = {"name": a.provider.name}
            if a.provider.domain:
                author["url"] = f"https://{a.provider.domain}/"
            item["authors"] = [author]
        if names:
            item["tags"] = list(names)
        # JSON text never holds a raw newline, so indenting line by line is exact.
        text = json.dumps(item, ensure_ascii=False, indent=2)
        return ("    " + text.replace("\n", "\n    ")).encode("utf-8")

    def document(self, feed: Feed, entries: Sequence[bytes]) -> bytes:
        site = self.site
        document: dict[str, object] = {
            "version": VERSION,
            "title": feed_title(feed, site),
            "home_page_url": alternate(feed, site),
            "feed_url": url_for(site, feed.path + SUFFIX),
            "description": feed_description(feed, site),
            "authors": [{"name": site.title}],
        }
        icon = feed_icon(feed, site)
        if icon:
            document["icon"] = document["favicon"] = icon
        if site.hub:
            document["hubs"] = [{"type": "WebSub", "url": site.hub}]
        head = json.dumps(document, ensure_ascii=False, indent=2)
        if not entries:
            return (head[:-2] + ',\n  "items": []\n}\n').encode("utf-8")
        # The items are already indented JSON: the document is its head, then the list.
        return b"".join(
            (head[:-2].encode("utf-8"), b',\n  "items": [\n', b",\n".join(entries), b"\n  ]\n}\n")
        )


FORMAT = Format("json", "JSON Feed", SUFFIX, MEDIA_TYPE, JsonFeedWriter, outline_rank=3)
