"""Articles + now -> the feeds to publish: published only, grouped, newest first, capped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from feedsync import slug
from feedsync.model import Article, Feed, FeedKind


@dataclass(frozen=True, slots=True)
class Selection:
    feeds: tuple[Feed, ...]
    published: int
    scheduled: int
    next_due: datetime | None
    notes: tuple[str, ...]
    topic_names: dict[str, str]


def order(article: Article) -> tuple[float, str]:
    """Newest first; equal times fall back to the id so the order never depends on the disk."""
    return (-article.published_at.timestamp(), article.id)


def is_visible(article: Article, now: datetime) -> bool:
    return article.published and article.published_at <= now


def _best_name(spellings: Counter[str]) -> str:
    """The spelling most articles use; ties go to the smallest, so it is stable."""
    return min(spellings, key=lambda s: (-spellings[s], s))


def _group(
    kind: FeedKind,
    folder: str,
    members: dict[str, list[Article]],
    spellings: dict[str, Counter[str]],
    links: dict[str, str | None],
    max_items: int,
) -> tuple[list[Feed], list[str]]:
    slugs, notes = slug.assign(members)
    feeds = [
        Feed(
            kind=kind,
            key=k,
            name=_best_name(spellings[k]),
            path=f"{folder}/{slugs[k]}",
            articles=tuple(members[k][:max_items]),
            link=links.get(k),
        )
        for k in sorted(members, key=lambda k: slugs[k])
    ]
    return feeds, [f"{folder}: {n}" for n in notes]


def select(articles: Iterable[Article], now: datetime, max_items: int) -> Selection:
    """Everything a reader may see at `now`: one feed of all, one per topic and per provider."""
    pool = list(articles)
    visible = sorted((a for a in pool if is_visible(a, now)), key=order)
    future = [a.published_at for a in pool if a.published and a.published_at > now]

    topics: dict[str, list[Article]] = {}
    topic_names: dict[str, Counter[str]] = {}
    providers: dict[str, list[Article]] = {}
    provider_names: dict[str, Counter[str]] = {}
    provider_links: dict[str, str | None] = {}
    for a in visible:
        for name in a.topics:
            k = slug.key(name)
            topics.setdefault(k, []).append(a)
            topic_names.setdefault(k, Counter())[name] += 1
        if a.provider is not None:
            k = slug.key(a.provider.name)
            providers.setdefault(k, []).append(a)
            provider_names.setdefault(k, Counter())[a.provider.name] += 1
            if a.provider.domain and k not in provider_links:
                provider_links[k] = f"https://{a.provider.domain}/"

    topic_feeds, topic_notes = _group(
        FeedKind.TOPIC, "topics", topics, topic_names, {}, max_items
    )
    provider_feeds, provider_notes = _group(
        FeedKind.PROVIDER, "providers", providers, provider_names, provider_links, max_items
    )
    everything = Feed(FeedKind.ALL, "", "", "all", tuple(visible[:max_items]))
    return Selection(
        feeds=(everything, *topic_feeds, *provider_feeds),
        published=len(visible),
        scheduled=len(future),
        next_due=min(future, default=None),
        notes=(*topic_notes, *provider_notes),
        topic_names={f.key: f.name for f in topic_feeds},
    )
