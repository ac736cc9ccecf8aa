"""Article -> the feeds it is in, and what each feed is called. Pure: no SQLite, no I/O.

A published article is in the feed of everything, in one feed per topic and in its provider's
feed; a draft is in none. Spellings that `slug.key` makes equal ("Machine Learning",
"machine  LEARNING") are one feed, named by the spelling most of its articles use.
"""

from __future__ import annotations

from collections.abc import Mapping

from feedsync import slug
from feedsync.model import Article, FeedKind

Ref = tuple[FeedKind, str]  # a feed: its kind and key ("" for the feed of everything)
ALL: Ref = (FeedKind.ALL, "")


def ref_text(ref: Ref) -> str:
    """A feed as one text ('all:', 'topic:<key>', 'provider:<key>'), as the store keeps it."""
    return f"{ref[0].value}:{ref[1]}"


def ref_of(text: str) -> Ref:
    kind, _, key = text.partition(":")
    return (FeedKind(kind), key)


ALL_TEXT = ref_text(ALL)


def topic_keys(article: Article) -> tuple[str, ...]:
    """The article's topics as feed keys, in its own order (category labels look them up)."""
    return tuple(slug.key(t) for t in article.topics)


def feeds_of(article: Article) -> tuple[tuple[Ref, str], ...]:
    """Every feed the article is in, each with how this article spells the feed's name."""
    if not article.published:
        return ()
    found: list[tuple[Ref, str]] = [(ALL, "")]
    seen = set()
    for topic in article.topics:
        key = slug.key(topic)
        if key not in seen:
            seen.add(key)
            found.append(((FeedKind.TOPIC, key), topic))
    if article.provider is not None:
        found.append(((FeedKind.PROVIDER, slug.key(article.provider.name)), article.provider.name))
    return tuple(found)


def name(spellings: Mapping[str, int]) -> str:
    """A feed's name from how many of its articles spell it each way: the most common
    spelling, ties to the smallest (so the name is stable); "" for a feed with none."""
    if not spellings:
        return ""
    return min(spellings.items(), key=lambda item: (-item[1], item[0]))[0]
