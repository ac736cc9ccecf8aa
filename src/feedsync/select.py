"""A feed's members + now + cap -> what it shows, in order. Pure: no SQLite, no I/O.

The rules live here: an article is shown once its publication time has come, newest first,
ties broken by id, at most `max_items`. The store keeps every feed's members in `order_key`
order and compares ranks with `bound(now)` in its queries (which feeds have something to
show, counts, the next article due); nothing else decides visibility or order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice
from typing import NamedTuple

from feedsync.feedset import Titling
from feedsync.membership import ALL, Ref
from feedsync.model import Article, Feed, FeedKind, History


class Member(NamedTuple):
    """One article as a feed's selection, fingerprint and labels need it, without its text."""

    rank: float  # minus the publication time: ascending rank is newest first
    id: str
    source: str
    digest: bytes  # of the stored article: equal digests render equal entries
    domain: str | None
    topics: tuple[str, ...]  # topic keys, for the category labels


def rank(published_at: datetime) -> float:
    return -published_at.timestamp()


def bound(now: datetime) -> float:
    """Members with a rank at or above this are published at `now`."""
    return -now.timestamp()


def order_key(member: Member) -> tuple[float, str]:
    """Feed order: newest first, then by id, so equal times have a stable order."""
    return (member.rank, member.id)


def shown(members: Iterable[Member], now: datetime, cap: int | None) -> list[Member]:
    """What the feed shows at `now`, from its members in `order_key` order: those whose time
    has come, the first `cap` of them (all with None). Reads no further than it needs."""
    due = bound(now)
    visible = (m for m in members if m.rank >= due)
    return list(visible if cap is None else islice(visible, cap))


@dataclass(frozen=True, slots=True)
class Plan:
    """One feed's content at `now` as digests: enough to tell whether it changed, no text."""

    kind: FeedKind
    key: str
    name: str
    path: str
    members: tuple[Member, ...]
    link: str | None
    labels: tuple[tuple[str, str], ...]
    total: int  # published members at `now`, shown or not: what the listings tell
    title: str | None = None  # what the operator calls it (feedset.Titling)
    description: str | None = None
    icon: str | None = None
    tombstones: tuple[tuple[str, float], ...] = ()  # (id, since): articles that left it
    history: History = History()  # its archives (RFC 5005)

    @property
    def fingerprint(self) -> bytes:
        """Equal fingerprints render equal bytes (for the same site and formats)."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(
            repr(
                (
                    self.kind.value,
                    self.key,
                    self.name,
                    self.path,
                    self.link,
                    self.labels,
                    self.total,
                    self.title,
                    self.description,
                    self.icon,
                    self.tombstones,
                    self.history,
                )
            ).encode("utf-8", "surrogatepass")
        )
        for member in self.members:
            digest.update(member.digest)
        return digest.digest()


def plan(
    ref: Ref,
    name: str,
    path: str,
    members: Sequence[Member],
    topic_name: Callable[[str], str],
    total: int | None = None,
    titling: Titling | None = None,
    tombstones: tuple[tuple[str, float], ...] = (),
    history: History | None = None,
) -> Plan:
    """A feed from what it shows: a provider feed links to its provider's site, and every
    item's categories are named as the topics' own feeds name them (`topic_name(key)`)."""
    link = None
    if ref[0] is FeedKind.PROVIDER:
        domain = next((m.domain for m in members if m.domain), None)
        link = f"https://{domain}/" if domain else None
    topics = {k for m in members for k in m.topics}
    return Plan(
        kind=ref[0],
        key=ref[1],
        name=name if ref != ALL else "",
        path=path,
        members=tuple(members),
        link=link,
        labels=tuple(sorted((k, topic_name(k)) for k in topics)),
        total=len(members) if total is None else total,
        title=titling.title if titling else None,
        description=titling.description if titling else None,
        icon=titling.icon if titling else None,
        tombstones=tombstones,
        history=history or History(),
    )


def materialise(p: Plan, article: Callable[[str], Article]) -> Feed:
    """The feed with its articles' text (`article(source)`), for rendering."""
    return Feed(
        kind=p.kind,
        key=p.key,
        name=p.name,
        path=p.path,
        articles=tuple(article(m.source) for m in p.members),
        link=p.link,
        labels=p.labels,
        total=p.total,
        title=p.title,
        description=p.description,
        icon=p.icon,
        tombstones=tuple(
            (id_, datetime.fromtimestamp(since, timezone.utc)) for id_, since in p.tombstones
        ),
        history=p.history,
    )
