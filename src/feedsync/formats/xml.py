"""What the RSS and Atom formats share: feedgen builds both, and entries are spliced as bytes.

Everything that feedgen would otherwise stamp with "now" (feed updated/lastBuildDate, entry
updated) or with its version (generator) is set from the content, so the same input gives the
same bytes. feedgen formats RSS dates under `setlocale`, which is process-wide: render from one
thread at a time. feedgen and lxml are imported where used: a run that renders nothing should
not pay for them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from feedsync.formats.common import (
    Site,
    alternate,
    feed_description,
    feed_icon,
    feed_id,
    feed_title,
    image_type,
    item_html,
    updated,
    url_for,
)
from feedsync.model import Article, Feed, FeedKind, History

if TYPE_CHECKING:
    from lxml import etree

ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005
# Links feedgen keeps for Atom only; RSS carries them as atom:link (as RFC 5005 allows).
RSS_ATOM_LINKS = ("hub", "current", "prev-archive", "next-archive")


def history(data: bytes, feed: Feed, container: str | None, links: Sequence[Any]) -> bytes:
    """The head with what feedgen cannot write: atom:links in RSS (`links`, feedgen's link
    records, after the self link) and an archive document's `fh:archive` marker."""
    if not links and feed.history.current is None:
        return data
    from lxml import etree

    root = etree.fromstring(data, parser())
    parent = root.find(container) if container else root
    assert parent is not None
    if links:
        self_link = parent.find(f"{{{ATOM_NS}}}link")
        at = list(parent).index(self_link) + 1 if self_link is not None else 0
        for i, link in enumerate(links):
            attrs = {"href": link["href"], "rel": link["rel"]}
            if link.get("type"):
                attrs["type"] = link["type"]
            parent.insert(at + i, etree.Element(f"{{{ATOM_NS}}}link", attrs))
    if feed.history.current is not None:
        marker = etree.Element(f"{{{HISTORY_NS}}}archive", nsmap={"fh": HISTORY_NS})
        parent.insert(0 if container else 0, marker)
    return etree.tostring(root, pretty_print=True, encoding="UTF-8", xml_declaration=True)


MEDIA_NS = "http://search.yahoo.com/mrss/"
# What lxml refuses in text (XML 1.0 `Char`): normalise removes it, so only hand-made data has it.
_XML_UNSAFE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XMLNS = re.compile(rb' xmlns(?::[A-Za-z_][\w.-]*)?="[^"]*"')


@cache
def parser() -> etree.XMLParser:
    from lxml import etree

    return etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)


@dataclass(frozen=True, slots=True)
class EntryValues:
    """What feedgen is handed for one entry: the article's strings after feedsync's own
    escaping (summary) and composition (body, author URI, enclosure type)."""

    id: str
    title: str
    link: str
    summary: str | None  # HTML-escaped plain text
    body: str  # common.item_html
    published: datetime
    updated: datetime
    labels: tuple[str, ...]
    creator: str | None  # the provider's name
    uri: str | None  # the provider's site
    lead: str | None  # the lead image's URL
    width: str | None
    height: str | None
    lead_type: str | None
    video: bool

    @classmethod
    def of(cls, article: Article, labels: tuple[str, ...], default_type: str) -> EntryValues:
        """The values of this article's entry (the last ones asked for are kept: RSS and Atom
        render the same article one after the other)."""
        global _last_values
        last = _last_values
        if last is not None and last[0] is article and last[1] == (labels, default_type):
            return last[2]
        values = cls._of(article, labels, default_type)
        _last_values = (article, (labels, default_type), values)
        return values

    @classmethod
    def _of(cls, article: Article, labels: tuple[str, ...], default_type: str) -> EntryValues:
        provider = article.provider
        lead = article.images[0] if article.images else None
        return cls(
            article.id,
            article.title,
            article.link,
            # Summaries are plain text; escaped, HTML-reading clients show them as typed.
            html.escape(article.summary, quote=False) if article.summary else None,
            item_html(article),
            article.published_at,
            article.updated_at,
            labels,
            provider.name if provider is not None else None,
            f"https://{provider.domain}/" if provider is not None and provider.domain else None,
            lead.url if lead is not None else None,
            str(lead.width) if lead is not None and lead.width else None,
            str(lead.height) if lead is not None and lead.height else None,
            image_type(lead.url, default_type) if lead is not None else None,
            article.video,
        )

    @property
    def shape(self) -> tuple[object, ...]:
        """Which optional parts the entry has: entries of one shape differ only in text."""
        optional = (self.summary, self.creator, self.uri, self.lead, self.width, self.height)
        return (*(v is None for v in optional), len(self.labels), self.video)

    def texts(self) -> dict[str, str]:
        """Every string field by name (labels as label0, label1, ...)."""
        found = {
            name: value for name in _TEXT_FIELDS if isinstance(value := getattr(self, name), str)
        }
        found.update((f"label{i}", label) for i, label in enumerate(self.labels))
        return found


_last_values: tuple[Article, tuple[tuple[str, ...], str], EntryValues] | None = None
_TEXT_FIELDS = (
    *("id", "title", "link", "summary", "body", "creator", "uri"),
    *("lead", "width", "height", "lead_type"),
)


# The last feedgen entry built: RSS and Atom render the same article one after the other,
# and one entry gives both.
_last: tuple[EntryValues, Any] | None = None


def feed_entry(values: EntryValues) -> Any:
    """The article as one feedgen entry that can give both its RSS item and its Atom entry.

    The provider is both the Atom author (feedgen leaves an author without email out of RSS)
    and the RSS `dc:creator` (the Dublin Core extension is registered for RSS only). The lead
    image is an enclosure (RSS `enclosure`, length 0 as it is unknown; Atom `link
    rel="enclosure"`) besides Media RSS, and the body readers show is HTML (`content:encoded`,
    Atom `content`); the plain summary stays the description.
    """
    global _last
    if _last is not None and _last[0] is values:
        return _last[1]
    from feedgen.entry import FeedEntry
    from feedgen.ext.dc import DcEntryExtension
    from feedgen.ext.media import MediaEntryExtension

    v = values
    fe = FeedEntry()
    # register_extension with the classes: load_extension("media") retries a failing import
    # of a module that does not exist on every call, which costs more than the entry itself.
    fe.register_extension("media", MediaEntryExtension)
    fe.register_extension("dc", DcEntryExtension, atom=False, rss=True)
    fe.id(v.id)
    fe.guid(v.id, permalink=False)
    fe.title(v.title)
    fe.link(href=v.link, rel="alternate", type="text/html")
    if v.summary is not None:
        fe.summary(v.summary, type="html")
    fe.content(v.body, type="html")
    fe.published(v.published)
    fe.updated(v.updated)
    for label in v.labels:
        fe.category(term=label)
    if v.creator is not None:
        fe.dc.dc_creator(v.creator)
        fe.author({"name": v.creator, **({"uri": v.uri} if v.uri else {})})
    if v.lead is not None:
        size = {k: x for k, x in (("width", v.width), ("height", v.height)) if x is not None}
        fe.media.content({"url": v.lead, "medium": "image", **size}, group=None)
        fe.media.thumbnail({"url": v.lead, **size}, group=None)
        fe.link(href=v.lead, rel="enclosure", type=v.lead_type)
    _last = (values, fe)
    return fe


# Stand-ins an entry template is built with: nothing feedgen or lxml changes, and never
# part of the markup around them.
_ENTRY_MARK = "Qz7standin"
_PUBLISHED = datetime(1901, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
_UPDATED = datetime(1902, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
_ENTRY_TOKEN = re.compile(rb"Qz7standin[a-z0-9_]+Qz7")


# What lxml writes for a character in element text, and also in an attribute value.
_TEXT_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))
_ATTRIBUTE_ESCAPES = (*_TEXT_ESCAPES, ('"', "&quot;"), ("\n", "&#10;"), ("\t", "&#9;"))


def _escape(text: str, escapes: Sequence[tuple[str, str]]) -> str:
    """`text` as lxml writes it where `escapes` apply (& first, so nothing is escaped twice)."""
    for char, entity in escapes:
        if char in text:
            text = text.replace(char, entity)
    return text


def _stand_ins(values: EntryValues) -> EntryValues:
    """The entry's shape with a stand-in for every value (dates: two distinct ones)."""
    marks = {name: f"{_ENTRY_MARK}{name}Qz7" for name in values.texts()}
    fields: dict[str, Any] = {name: marks.get(name) for name in _TEXT_FIELDS}
    return replace(
        values,
        **fields,
        published=_PUBLISHED,
        updated=_UPDATED,
        labels=tuple(marks[f"label{i}"] for i in range(len(values.labels))),
    )


@dataclass(frozen=True, slots=True)
class _EntryTemplate:
    """An entry as feedgen built it from stand-ins, cut where they are: each place says
    which value goes there and whether it is element text or an attribute value."""

    parts: tuple[str, ...]  # text, place, text, place, ..., text
    places: tuple[tuple[str, bool], ...]  # (field name or date, in an attribute)
    dates: tuple[str, ...]  # the dates it shows ("published", "updated")

    @classmethod
    def of(cls, data: bytes, dates: Mapping[bytes, str]) -> _EntryTemplate:
        tokens = [re.escape(d) for d in dates]
        pattern = re.compile(b"(" + b"|".join([_ENTRY_TOKEN.pattern, *tokens]) + b")")
        pieces = pattern.split(data)
        places = []
        at = 0
        for i, piece in enumerate(pieces):
            if i % 2:
                inside = data.rfind(b"<", 0, at) > data.rfind(b">", 0, at)
                name = dates.get(piece) or piece[len(_ENTRY_MARK) : -3].decode()
                places.append((name, inside))
            at += len(piece)
        shown = tuple(name for name in dates.values() if any(n == name for n, _ in places))
        return cls(tuple(p.decode("utf-8") for p in pieces[0::2]), tuple(places), shown)

    def fill(self, texts: Mapping[str, str]) -> bytes:
        out = [self.parts[0]]
        for (name, attribute), after in zip(self.places, self.parts[1:], strict=True):
            value = texts[name]
            out.append(_escape(value, _ATTRIBUTE_ESCAPES if attribute else _TEXT_ESCAPES))
            out.append(after)
        return "".join(out).encode("utf-8")


def generator(
    feed: Feed,
    site: Site,
    media_type: str,
    suffix: str,
    *,
    rss: bool,
    when: datetime,
    icon: str | None,
) -> Any:
    """The feed without entries as a feedgen FeedGenerator, `when` its updated time and
    `icon` its icon (see `XmlWriter.head`); nothing in it says "now"."""
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.load_extension("media")
    if rss:
        fg.load_extension("dc")
    fg.id(feed_id(feed))
    fg.title(feed_title(feed, site))
    fg.description(feed_description(feed, site))
    fg.author({"name": site.title})
    fg.link(href=url_for(site, feed.path + suffix), rel="self", type=media_type)
    if site.hub:
        fg.link(href=site.hub, rel="hub")
    history = feed.history
    for rel, where in (
        ("current", history.current),
        ("prev-archive", history.prev),
        ("next-archive", history.next),
    ):
        if where is not None:
            fg.link(href=url_for(site, where + suffix), rel=rel, type=media_type)
    # Last: feedgen takes the last link as the RSS channel's <link>.
    fg.link(href=alternate(feed, site), rel="alternate", type="text/html")
    if icon:
        fg.icon(icon)  # Atom only
        fg.logo(icon)  # Atom logo, and RSS image (url, with the channel's title and link)
    fg.generator("feedsync")
    fg.updated(when)
    return fg


EMPTY = Feed(FeedKind.ALL, "", "", "all", ())  # a feed with no entries: the head alone


# Stand-ins an archive head is first built with, then replaced by each document's own values.
_SELF = "feedsync-stand-in/self"
_PREV = "feedsync-stand-in/prev"
_NEXT = "feedsync-stand-in/next"
_WHEN = datetime(1901, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
MAX_TEMPLATES = 20_000  # archive heads kept (a few per feed)


@dataclass(frozen=True, slots=True)
class _Template:
    """An archive head as feedgen built it with both RFC 5005 links, cut where the stand-ins
    are; a link a document lacks is its own line in the pretty-printed head, left out."""

    parts: tuple[bytes, ...]  # text, stand-in, text, stand-in, ..., text (a line per link)

    @classmethod
    def of(
        cls, data: bytes, stand_ins: Sequence[bytes], optional: Sequence[bytes]
    ) -> _Template | None:
        """None when a stand-in is not there exactly once, or an optional one's line holds
        more than its link (an operator's title that happens to contain one, say): such
        feeds keep feedgen for every head."""
        if any(data.count(s) != 1 for s in (*stand_ins, *optional)):
            return None
        cuts = []
        for stand_in in optional:
            at = data.index(stand_in)
            start, end = data.rindex(b"\n", 0, at) + 1, data.index(b"\n", at) + 1
            line = data[start:end]
            if not (line.lstrip(b" ").startswith(b"<") and line.endswith(b"/>\n")):
                return None
            cuts.append(line)
        pattern = re.compile(b"(" + b"|".join(re.escape(s) for s in (*stand_ins, *cuts)) + b")")
        return cls(tuple(pattern.split(data)))

    def line(self, stand_in: bytes) -> bytes:
        """The line of the head that holds this optional stand-in."""
        return next(p for p in self.parts[1::2] if stand_in in p)

    def fill(self, values: Mapping[bytes, bytes]) -> bytes:
        """`values` maps each stand-in (and each optional link's line) to its bytes."""
        parts = list(self.parts)
        for i in range(1, len(parts), 2):
            parts[i] = values[parts[i]]
        return b"".join(parts)


class XmlWriter:
    """Renders a feed as its pretty-printed head with entries spliced in as bytes.

    Subclasses say how feedgen gives the head (`build`) and an entry element, where entries go
    (before `close`), how deep they are indented there (`indent`), and how the head writes its
    updated time (`date_text`, as feedgen does).
    """

    close: bytes
    indent: bytes
    tombstones: bool  # does `updated` account for tombstones in this format

    def __init__(self, site: Site) -> None:
        self.site = site
        self._nsmap: dict[str, str] | None = None
        self._templates: dict[tuple[object, ...], _Template | None] = {}
        self._entries: dict[tuple[object, ...], _EntryTemplate] = {}

    def build(self, feed: Feed, when: datetime, icon: str | None) -> bytes:
        """The feed document without entries, pretty-printed, as feedgen makes it."""
        raise NotImplementedError

    def date_text(self, when: datetime) -> str:
        raise NotImplementedError

    def head(self, feed: Feed) -> bytes:
        """The feed document without entries, pretty-printed.

        A feed's archive documents differ in their head only by their self, prev-archive and
        next-archive links and their updated time: feedgen builds one head per feed with
        stand-ins for those, and each document fills in its own (or leaves a link out). The bytes
        are feedgen's (tests/test_properties.py compares the two on random feeds); a feed has
        dozens of archives, and a feedgen round trip costs more than the document's entries.
        """
        when = updated(feed, tombstones=self.tombstones)
        icon = feed_icon(feed, self.site)
        history = feed.history
        if history.current is None:  # a subscription document: one of a kind
            return self.build(feed, when, icon)
        key = (
            *(feed.kind, feed.key, feed.name, feed.link, feed.title, feed.description),
            *(feed.icon, icon, history.current),
        )
        if key not in self._templates:
            if len(self._templates) >= MAX_TEMPLATES:  # a long-lived daemon's renamed feeds
                self._templates.clear()
            links = History(prev=_PREV, next=_NEXT, current=history.current)
            data = self.build(replace(feed, path=_SELF, history=links), _WHEN, icon)
            stand_ins = (_SELF.encode(), self.date_text(_WHEN).encode())
            self._templates[key] = _Template.of(data, stand_ins, (_PREV.encode(), _NEXT.encode()))
        template = self._templates[key]
        if template is None:
            return self.build(feed, when, icon)
        values = {
            _SELF.encode(): quote(feed.path, safe="/").encode(),
            self.date_text(_WHEN).encode(): self.date_text(when).encode(),
        }
        for stand_in, where in ((_PREV, history.prev), (_NEXT, history.next)):
            line = template.line(stand_in.encode())
            values[line] = (
                line.replace(stand_in.encode(), quote(where, safe="/").encode()) if where else b""
            )
        return template.fill(values)

    def element(self, fe: Any) -> etree._Element:
        """The entry element feedgen makes for this format."""
        raise NotImplementedError

    def item(self, article: Article, names: tuple[str, ...]) -> etree._Element:
        """The article's entry element in this format, on its own."""
        return self.item_of(EntryValues.of(article, names, self.site.image_type))

    def item_of(self, values: EntryValues) -> etree._Element:
        from lxml import etree

        element = self.element(feed_entry(values))
        if values.video:  # Media RSS: where the video plays (never an author's iframe)
            etree.SubElement(element, f"{{{MEDIA_NS}}}player", url=values.link)
        return element

    def split(self, head: bytes) -> tuple[bytes, bytes]:
        """Where entries go: before the channel's (RSS) or the feed's (Atom) closing tag."""
        at = head.rfind(self.close)
        return head[:at], head[at:]

    def entry(self, article: Article, names: tuple[str, ...]) -> bytes:
        """The entry's bytes as they appear inside a pretty-printed feed.

        feedgen builds one entry per shape (which optional parts it has, how many
        categories) from stand-ins; every entry of that shape is the template with its own
        values escaped as lxml escapes element text or attribute values. The bytes are
        feedgen's (tests/test_properties.py compares the two on any author text); building
        an entry through feedgen and lxml costs fifty times more.
        """
        values = EntryValues.of(article, names, self.site.image_type)
        texts = values.texts()
        if any(_XML_UNSAFE.search(t) for t in texts.values()):
            return self.built_entry(values)  # lxml refuses these: let it say so
        template = self._entries.get(values.shape)
        if template is None:
            data = self.built_entry(_stand_ins(values))
            dates = {
                self.entry_date_text(_PUBLISHED, "published").encode(): "published",
                self.entry_date_text(_UPDATED, "updated").encode(): "updated",
            }
            template = self._entries[values.shape] = _EntryTemplate.of(data, dates)
        for name in template.dates:
            texts[name] = self.entry_date_text(getattr(values, name), name)
        return template.fill(texts)

    def entry_date_text(self, when: datetime, which: str) -> str:
        """An entry's date as feedgen writes it in this format."""
        return when.isoformat()

    def built_entry(self, values: EntryValues) -> bytes:
        """The entry's bytes through feedgen and lxml, from the entry serialised on its own.

        Alone, an entry is indented from column 0 and declares the namespaces it uses; inside
        the feed it is indented one level (Atom) or two (RSS) deeper and the feed declares
        them. Text can hold neither a raw '<' nor (in attributes) a raw newline, so every line
        that starts with '<' after its indentation is markup, and its start tag ends at the
        first '>'.
        """
        from lxml import etree

        if self._nsmap is None:
            root = etree.fromstring(self.head(EMPTY), parser())
            self._nsmap = {k: v for k, v in root.nsmap.items() if k is not None}
        element = self.item_of(values)
        etree.cleanup_namespaces(element, top_nsmap=self._nsmap)  # the feed's prefixes
        raw = etree.tostring(element, pretty_print=True, encoding="UTF-8")
        out = []
        for line in raw.split(b"\n"):
            if line.lstrip(b" ").startswith(b"<"):
                end = line.find(b">")
                if b" xmlns" in line[:end]:
                    line = _XMLNS.sub(b"", line[:end]) + line[end:]
                line = self.indent + line
            out.append(line)
        return b"\n".join(out)

    def document(self, feed: Feed, entries: Sequence[bytes]) -> bytes:
        before, after = self.split(self.head(feed))
        return b"".join((before, *entries, after))
