"""Index + now -> the feeds to publish: published only, newest first, capped, named, slugged."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from feedsync import slug
from feedsync.index import ALL, Index, Ref
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


def existing(index: Index, now: datetime) -> dict[FeedKind, set[str]]:
    """Topics and providers with at least one article a reader may see at `now`."""
    keys: dict[FeedKind, set[str]] = {kind: set() for kind in FOLDERS}
    for ref in index.members:
        if ref != ALL and index.has_visible(ref, now):
            keys[ref[0]].add(ref[1])
    return keys


def build(index: Index, ref: Ref, path: str, now: datetime, max_items: int) -> Feed:
    """One feed's content at `now`, with everything rendering needs and nothing else."""
    articles = tuple(index.visible(ref, now, max_items))
    link = None
    if ref[0] is FeedKind.PROVIDER:
        domain = next((a.provider.domain for a in articles if a.provider and a.provider.domain),
                      None)
        link = f"https://{domain}/" if domain else None
    topics = {slug.key(t) for a in articles for t in a.topics}
    labels = tuple(sorted((k, index.name((FeedKind.TOPIC, k))) for k in topics))
    return Feed(kind=ref[0], key=ref[1], name=index.name(ref) if ref != ALL else "", path=path,
                articles=articles, link=link, labels=labels)


def select(articles: Iterable[Article], now: datetime, max_items: int) -> Selection:
    """Every feed for a list of articles at once (what `check` and small callers need)."""
    index = Index()
    for article in articles:
        index.set_record(article.source, Path(article.source), None, article, ())
    feed_paths, notes = paths(existing(index, now))
    feeds = sorted((build(index, ref, p, now, max_items) for ref, p in feed_paths.items()),
                   key=lambda f: (f.kind is not FeedKind.ALL, f.path))
    published, scheduled = index.counts(now)
    due = index.next_due(now)
    return Selection(
        feeds=tuple(feeds),
        published=published,
        scheduled=scheduled,
        next_due=datetime.fromtimestamp(due, now.tzinfo) if due is not None else None,
        notes=tuple(notes),
    )
