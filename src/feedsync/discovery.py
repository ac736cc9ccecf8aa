"""Feed listings -> index.html and feeds.opml, so people and readers can find every feed.

Both follow the feeds' rules: built from content only (no "now"), deterministic, and written
through the same writer, so unchanged bytes are not rewritten.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Iterable, Sequence
from email.utils import format_datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from feedsync import formats as format_table
from feedsync.formats import page
from feedsync.formats.common import PAGE, Site, alternate, counted, feed_title, url_for
from feedsync.model import OPML_FILE, STYLESHEET, FeedKind, Listing

if TYPE_CHECKING:
    from lxml import etree

# After the feed of everything; the operator's own feeds only when there are any.
SECTIONS = (
    (FeedKind.CUSTOM, "Collections"),
    (FeedKind.TOPIC, "Topics"),
    (FeedKind.PROVIDER, "Providers"),
)
# The look of index.html and of every feed page: one file, linked (a strict CSP forbids
# inline style), written with the listings.
STYLESHEET_CSS = """
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem}p.lead{color:#555;margin-top:0}
table{border-collapse:collapse;width:100%;margin-bottom:2rem;table-layout:fixed}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #ddd;overflow-wrap:break-word}
th{background:#f4f4f4}a{color:#0645ad}.c{color:#555}
col.name{width:32%}col.items{width:24%}col.newest{width:20%}
@media (max-width:40rem){body{margin:1rem auto}table,tbody,tr,td{display:block;width:auto}
colgroup,tr.head{display:none}tr{border-bottom:1px solid #ddd;padding:.5rem 0}
td{border:0;padding:.1rem 0}td.name{font-weight:600}}
body.page{max-width:48rem}.crumbs{margin:0 0 1rem;font-size:.9rem}
header{overflow:hidden}header img.logo{float:right;margin:0 0 .5rem 1rem;border-radius:4px}
.subscribe{background:#f4f4f4;border-radius:6px;padding:.2rem 1rem 1rem;margin:1.5rem 0}
.subscribe h2{margin:.6rem 0}.subscribe label{display:block;margin-bottom:.3rem}
#address{box-sizing:border-box;width:100%;font:15px ui-monospace,monospace;padding:.4rem;
border:1px solid #bbb;border-radius:4px;background:#fff}
ul.formats,ul.archives{list-style:none;padding:0;margin:0}
ul.formats li,ul.archives li{display:inline-block;margin-right:1.2rem}
.items ol{list-style:none;padding:0;margin:0}
li.item{display:flex;gap:1rem;align-items:flex-start;padding:1rem 0;border-bottom:1px solid #ddd}
li.item img{flex:none;width:8rem;height:auto;max-height:8rem;object-fit:cover;border-radius:4px;
background:#eee}
li.item .text{min-width:0;overflow-wrap:break-word}li.item h3{margin:0;font-size:1.1rem}
li.item p{margin:.3rem 0}p.meta{color:#555;font-size:.9rem}
footer{margin:2rem 0;color:#555;font-size:.9rem}
@media (max-width:40rem){li.item{display:block}li.item img{width:100%;max-height:12rem}}
""".lstrip()


_COLUMNS = (
    '<colgroup><col class="name"><col class="items"><col class="newest"><col></colgroup>'
    '<tr class="head"><th>Feed</th><th>Articles</th><th>Newest item</th><th>Formats</th></tr>'
)


def _ordered(feeds: Iterable[Listing]) -> tuple[Listing | None, dict[FeedKind, list[Listing]]]:
    everything = None
    groups: dict[FeedKind, list[Listing]] = {kind: [] for kind, _ in SECTIONS}
    for feed in feeds:
        if feed.kind is FeedKind.ALL:
            everything = feed
        else:
            groups[feed.kind].append(feed)
    for members in groups.values():
        members.sort(key=lambda f: (f.shown_name.casefold(), f.path))
    return everything, groups


def articles(feed: Listing) -> str:
    """How many published articles the feed covers, and that it holds the newest of them."""
    return counted(feed.total, feed.count)


def _newest(feed: Listing) -> str:
    return feed.newest.strftime("%Y-%m-%d %H:%M UTC") if feed.newest is not None else "—"


def _links(feed: Listing, formats: Sequence[str]) -> str:
    """One link per feed format (the page is linked from the feed's name)."""
    return " · ".join(
        f'<a href="{html.escape(quote(format_table.file_name(feed.path, fmt)))}"'
        f' type="{format_table.get(fmt).media_type}">{format_table.get(fmt).label}</a>'
        for fmt in format_table.feeds(formats)
    )


def _name(feed: Listing, name: str, formats: Sequence[str]) -> str:
    """The feed's name, linked to its page when there are pages."""
    if PAGE not in formats:
        return html.escape(name)
    href = html.escape(quote(format_table.file_name(feed.path, PAGE)))
    return f'<a href="{href}" type="text/html">{html.escape(name)}</a>'


def index_html(feeds: Iterable[Listing], site: Site, formats: Sequence[str]) -> bytes:
    """A readable page listing every feed, with autodiscovery links for the main feeds."""
    everything, groups = _ordered(feeds)
    esc = html.escape
    head = page.head(f"{site.title} — feeds", STYLESHEET, everything, site)
    head += [
        f'<link rel="outline" type="text/x-opml" title="All feeds (OPML)" href="{OPML_FILE}">',
        "</head>",
        "<body>",
    ]
    body = [
        f"<h1>{esc(site.title)}</h1>",
        '<p class="lead">Subscribe to everything, a topic or a provider in your feed reader,'
        f' or import <a href="{OPML_FILE}">all feeds as OPML</a>.</p>',
    ]
    if everything is not None:
        body += [
            "<h2>Everything</h2>",
            "<table>",
            _COLUMNS,
            _row(everything, "All articles", tuple(formats)),
            "</table>",
        ]
    for kind, heading in SECTIONS:
        members = groups[kind]
        if not members and kind is FeedKind.CUSTOM:
            continue
        body += [f"<h2>{heading} ({len(members)})</h2>"]
        if not members:
            body += ["<p>None yet.</p>"]
            continue
        body += ["<table>", _COLUMNS]
        body += [_row(feed, feed.shown_name, tuple(formats)) for feed in members]
        body += ["</table>"]
    body += ["</body>", "</html>", ""]
    return "\n".join(head + body).encode("utf-8")


@functools.lru_cache(maxsize=8192)  # an edit changes a few rows of a page of thousands
def _row(feed: Listing, name: str, formats: Sequence[str]) -> str:
    return (
        f'<tr><td class="name">{_name(feed, name, formats)}</td><td class="c">{articles(feed)}</td>'
        f"<td>{_newest(feed)}</td><td>{_links(feed, formats)}</td></tr>"
    )


def opml(feeds: Iterable[Listing], site: Site, formats: Sequence[str]) -> bytes:
    """OPML 2.0 with one outline per feed (in the format readers take best) for bulk import."""
    from lxml import etree

    everything, groups = _ordered(feeds)
    fmt = format_table.outline_format(formats)
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{site.title} feeds"
    if everything is not None and everything.updated is not None:
        etree.SubElement(head, "dateModified").text = format_datetime(everything.updated)
    body = etree.SubElement(root, "body")

    def outline(parent: etree._Element, feed: Listing, text: str) -> None:
        etree.SubElement(
            parent,
            "outline",
            text=text,
            title=text,
            type="rss",
            xmlUrl=url_for(site, format_table.file_name(feed.path, fmt)),
            htmlUrl=alternate(feed, site),
        )

    if everything is not None:
        outline(body, everything, feed_title(everything, site))
    for kind, heading in SECTIONS:
        if groups[kind]:
            folder = etree.SubElement(body, "outline", text=heading, title=heading)
            for feed in groups[kind]:
                outline(folder, feed, feed.shown_name)
    return etree.tostring(root, pretty_print=True, encoding="UTF-8", xml_declaration=True)
