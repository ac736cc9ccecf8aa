"""Index + now -> the feeds to publish: published only, newest first, capped, named, slugged."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from feedsync import slug
from feedsync.index import ALL, Index, Ref, Stub, entry_of
from feedsync.model import Article, Feed, FeedKind

FOLDERS = {FeedKind.TOPIC: "topics", FeedKind.PROVIDER: "providers"}


@dataclass(frozen=True, slots=True)
class Selection:
    feeds: tuple[Feed, ...]
    published: int
    scheduled: int
    next_due: datetime | None
    notes: tuple[str, ...]


def paths(keys_by_kind: Mapping[FeedKind, Iterable[str]]) -> tuple[dict[Ref, str], list[str]]:
    """Output path (no suffix) of every feed that exists; notes on names that had to be bent."""
    result: dict[Ref, str] = {ALL: "all"}
    notes: list[str] = []
    for kind, folder in FOLDERS.items():
        slugs, kind_notes = slug.assign(keys_by_kind.get(kind, ()))
        result.update(((kind, k), f"{folder}/{s}") for k, s in slugs.items())
        notes.extend(f"{folder}: {n}" for n in kind_notes)
    return result, notes


@dataclass(frozen=True, slots=True)
class Plan:
    """One feed's content at `now` as digests: enough to tell whether it changed, no text."""

    kind: FeedKind
    key: str
    name: str
    path: str
    stubs: tuple[Stub, ...]
    link: str | None
    labels: tuple[tuple[str, str], ...]

    @property
    def fingerprint(self) -> bytes:
        """Equal fingerprints render equal bytes (for the same site and formats)."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(
            repr((self.kind.value, self.key, self.name, self.path, self.link, self.labels)).encode(
                "utf-8", "surrogatepass"
            )
        )
        for stub in self.stubs:
            digest.update(stub.digest)
        return digest.digest()


def plan(index: Index, ref: Ref, path: str, now: datetime, max_items: int) -> Plan:
    """What one feed shows at `now`, from the index alone."""
    stubs = tuple(index.visible(ref, now, max_items))
    link = None
    if ref[0] is FeedKind.PROVIDER:
        domain = next((s.domain for s in stubs if s.domain), None)
        link = f"https://{domain}/" if domain else None
    topics = {k for s in stubs for k in s.topics}
    labels = tuple(sorted((k, index.name((FeedKind.TOPIC, k))) for k in topics))
    return Plan(
        kind=ref[0],
        key=ref[1],
        name=index.name(ref) if ref != ALL else "",
        path=path,
        stubs=stubs,
        link=link,
        labels=labels,
    )


def materialise(index: Index, p: Plan) -> Feed:
    """The feed with its articles' text, for rendering."""
    return Feed(
        kind=p.kind,
        key=p.key,
        name=p.name,
        path=p.path,
        articles=tuple(index.article(s.source) for s in p.stubs),
        link=p.link,
        labels=p.labels,
    )


def build(index: Index, ref: Ref, path: str, now: datetime, max_items: int) -> Feed:
    """One feed's content at `now`, with everything rendering needs and nothing else."""
    return materialise(index, plan(index, ref, path, now, max_items))


def select(articles: Iterable[Article], now: datetime, max_items: int) -> Selection:
    """Every feed for a list of articles at once (what `check` and small callers need)."""
    index = Index()
    index.bulk = True
    for article in articles:
        index.set_record(article.source, Path(article.source), None, entry_of(article), ())
    feed_paths, notes = paths(index.existing(now))
    feeds = sorted(
        (build(index, ref, p, now, max_items) for ref, p in feed_paths.items()),
        key=lambda f: (f.kind is not FeedKind.ALL, f.path),
    )
    published, scheduled = index.counts(now)
    due = index.next_due(now)
    return Selection(
        feeds=tuple(feeds),
        published=published,
        scheduled=scheduled,
        next_due=datetime.fromtimestamp(due, now.tzinfo) if due is not None else None,
        notes=tuple(notes),
    )
