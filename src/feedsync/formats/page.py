"""A feed's readable page (`topics/ai.html`): what a person who clicks a feed link sees.

The feed's title and description, how to subscribe (the address to copy, one link per format
with its media type, autodiscovery links for browsers and readers) and its newest items with
their thumbnails. Plain static HTML: no script, no inline style (the shared `feeds.css` beside
index.html), nothing loaded from elsewhere but the articles' own images, so the output folder
works offline and behind a strict Content-Security-Policy. Rendered like a feed, from entries
built once per article, so a page changes exactly when its feed's visible content does.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from urllib.parse import quote

from feedsync.formats.common import (
    PAGE,
    PAGE_SUFFIX,
    Format,
    Site,
    counted,
    feed_description,
    feed_icon,
    feed_title,
    paragraphs,
    source_name,
    url_for,
)
from feedsync.model import INDEX_PAGE, STYLESHEET, Article, Feed, FeedKind, Listing

MEDIA_TYPE = "text/html"


def head(title: str, stylesheet: str, feed: Feed | Listing | None, site: Site) -> list[str]:
    """The head every page of the site starts with (index.html too): its title, the shared
    stylesheet and, for `feed`, an autodiscovery link per configured feed format."""
    from feedsync import formats

    esc = html.escape
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f'<link rel="stylesheet" href="{stylesheet}">',
    ]
    label = esc(feed_title(feed, site)) if feed is not None else ""
    for fmt in formats.feeds(site.formats) if feed is not None else ():
        spec = formats.get(fmt)
        href = esc(url_for(site, feed.path + spec.suffix))  # type: ignore[union-attr]
        lines.append(
            f'<link rel="alternate" type="{spec.media_type}" title="{label} ({spec.label})"'
            f' href="{href}">'
        )
    return lines


class PageWriter:
    def __init__(self, site: Site) -> None:
        self.site = site

    def entry(self, article: Article, names: tuple[str, ...]) -> bytes:
        """One item of the page's list: thumbnail, linked title, provider and date, excerpt."""
        esc = html.escape
        a = article
        parts = ['<li class="item">']
        if a.images:
            lead = a.images[0]
            size = "".join(
                f' {k}="{v}"' for k, v in (("width", lead.width), ("height", lead.height)) if v
            )
            parts.append(
                f'<img src="{esc(lead.url)}" alt=""{size} loading="lazy"'
                ' referrerpolicy="no-referrer">'
            )
        parts.append('<div class="text">')
        parts.append(f'<h3><a href="{esc(a.link)}">{esc(a.title, quote=False)}</a></h3>')
        when = a.published_at
        meta = [esc(source_name(a), quote=False)]
        if a.video:
            meta.append("video")
        meta.append(
            f'<time datetime="{when.isoformat().replace("+00:00", "Z")}">{when:%Y-%m-%d}</time>'
        )
        parts.append(f'<p class="meta">{" · ".join(meta)}</p>')
        parts.extend(paragraphs(a.summary))
        parts.append("</div></li>")
        return "".join(parts).encode("utf-8")

    def document(self, feed: Feed, entries: Sequence[bytes]) -> bytes:
        site = self.site
        esc = html.escape
        title = feed_title(feed, site)
        name = feed.path.rpartition("/")[2]  # the feed's files sit beside its page
        up = "../" * feed.path.count("/")
        from feedsync import formats

        feeds = formats.feeds(site.formats)
        lines = head(title, up + STYLESHEET, feed, site)
        lines.append(f'<meta name="description" content="{esc(feed_description(feed, site))}">')
        icon = feed_icon(feed, site)
        if icon:
            lines.append(f'<link rel="icon" href="{esc(icon)}">')
        lines += ["</head>", '<body class="page">']

        heading = feed.title or (feed.name if feed.kind is not FeedKind.ALL else site.title)
        lead = feed_description(feed, site)
        lead += "" if lead.endswith((".", "!", "?", "…")) else "."
        body = [
            f'<p class="crumbs"><a href="{up}{INDEX_PAGE}">{esc(site.title)}: all feeds</a></p>',
            "<header>",
        ]
        if icon:
            body.append(f'<img class="logo" src="{esc(icon)}" alt="" width="48" height="48">')
        body += [
            f"<h1>{esc(heading, quote=False)}</h1>",
            f'<p class="lead">{esc(lead, quote=False)}</p>',
            f'<p class="c">{counted(feed.covers, len(feed.articles))}.</p>',
        ]
        if feed.link:
            body.append(
                f'<p>Website: <a href="{esc(feed.link)}">{esc(feed.link, quote=False)}</a></p>'
            )
        body.append("</header>")
        if feeds:
            best = formats.outline_format(feeds)
            address = url_for(site, feed.path + formats.get(best).suffix)
            body += [
                '<section class="subscribe">',
                "<h2>Subscribe</h2>",
                '<label for="address">Copy this address into your feed reader:</label>',
                f'<input id="address" type="url" readonly value="{esc(address)}">',
                "<p>Or choose a format:</p>",
                '<ul class="formats">',
            ]
            for fmt in feeds:
                spec = formats.get(fmt)
                href = esc(quote(name + spec.suffix))
                body.append(
                    f'<li><a href="{href}" type="{spec.media_type}">{spec.label}</a>'
                    f' <span class="c">{spec.media_type}</span></li>'
                )
            body += ["</ul>", "</section>"]
        archived = [f for f in ("atom", "rss") if f in feeds]
        if feed.history.archives and archived:
            suffix = formats.get(archived[0]).suffix
            body += [
                '<section class="archive">',
                "<h2>Archive</h2>",
                "<p>Every article, a document per month (readers that follow RFC 5005 find"
                " them from the feed):</p>",
                '<ul class="archives">',
                *(
                    f'<li><a href="{up}{esc(quote(p + suffix))}">{p.rpartition("/")[2]}</a></li>'
                    for p in feed.history.archives
                ),
                "</ul>",
                "</section>",
            ]
        body += ['<section class="items">', "<h2>Newest articles</h2>"]
        body.append("<ol>" if entries else "<p>Nothing published yet.</p>")
        tail = ["</ol>"] if entries else []
        tail += [
            "</section>",
            f'<footer><a href="{esc(site.home_url)}">{esc(site.title)}</a></footer>',
            "</body>",
            "</html>",
            "",
        ]
        # The entries are bytes already: the page is its text around them.
        middle = b"\n" + b"\n".join(entries) if entries else b""
        return b"\n".join(
            ("\n".join(lines + body).encode("utf-8") + middle, "\n".join(tail).encode("utf-8"))
        )


# Not a feed; its entries are a few string joins, cheaper to make than to store.
FORMAT = Format(PAGE, "Web page", PAGE_SUFFIX, MEDIA_TYPE, PageWriter, feed=False, stored=False)
