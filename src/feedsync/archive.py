"""A feed's whole history as RFC 5005 archived feeds. Pure: no SQLite, no I/O.

Every published article of a feed sits in exactly one archive document, the one of the month
it was published in (UTC): `archive/topics/ai/2023-08.atom`. Partitioning by time, not by
position, keeps archives stable as clients and caches expect: a new article changes its own
month's document (and, when that month is new, the previous newest's `next-archive` link),
an edit or a removal only the documents that hold the article. A client that follows
`prev-archive` from the subscription document reaches every article once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from feedsync.select import Member

FOLDER = "archive"
FORMATS = ("rss", "atom")  # the formats RFC 5005 speaks of (JSON Feed has no archives)
HISTORY_NS = "http://purl.org/syndication/history/1.0"


def period(member: Member) -> str:
    """The month an article was published in, UTC: its archive document's name."""
    return datetime.fromtimestamp(-member.rank, timezone.utc).strftime("%Y-%m")


def period_of(rank: float) -> str:
    return datetime.fromtimestamp(-rank, timezone.utc).strftime("%Y-%m")


def bounds(name: str) -> tuple[float, float]:
    """The ranks of a month's members: lo <= rank < hi (ranks are minus the time)."""
    year, month = int(name[:4]), int(name[5:7])
    start = datetime(year, month, 1, tzinfo=timezone.utc)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=timezone.utc)
    return -end.timestamp() + 1e-3, -start.timestamp() + 1e-3


def relinked(before: Sequence[str], after: Sequence[str], touched: Iterable[str]) -> list[str]:
    """Of the months `after` (newest first), those whose document may have changed: the
    touched ones, and those whose neighbours differ from what they were in `before`."""

    def neighbours(names: Sequence[str]) -> dict[str, tuple[str | None, str | None]]:
        return {
            n: (names[i + 1] if i + 1 < len(names) else None, names[i - 1] if i else None)
            for i, n in enumerate(names)
        }

    old, new, hit = neighbours(before), neighbours(after), set(touched)
    return [n for n in after if n in hit or old.get(n) != new[n]]


def partition(members: Iterable[Member]) -> list[tuple[str, tuple[Member, ...]]]:
    """Members in feed order (newest first) -> (period, its members), newest period first."""
    groups: dict[str, list[Member]] = {}
    for member in members:
        groups.setdefault(period(member), []).append(member)
    return [(p, tuple(groups[p])) for p in sorted(groups, reverse=True)]


def path(feed_path: str, name: str) -> str:
    """An archive document's path (no suffix), beside none of the feeds' own files."""
    return f"{FOLDER}/{feed_path}/{name}"


@dataclass(frozen=True, slots=True)
class Page:
    """One archive document: a period of a feed, with its neighbours for the links."""

    feed_path: str
    name: str  # the period, "2023-08"
    members: tuple[Member, ...]
    older: str | None  # prev-archive: the period before, if any
    newer: str | None  # next-archive: the period after, None for the newest

    @property
    def path(self) -> str:
        return path(self.feed_path, self.name)

    def fingerprint(self, head: bytes) -> bytes:
        """Equal fingerprints render equal bytes; `head` is the feed's own (name, labels)."""
        digest = hashlib.blake2b(head, digest_size=16)
        digest.update(repr((self.feed_path, self.name, self.older, self.newer)).encode())
        for member in self.members:
            digest.update(member.digest)
        return digest.digest()


def pages(feed_path: str, periods: Sequence[tuple[str, tuple[Member, ...]]]) -> list[Page]:
    """Each period as its archive document, linked to its neighbours."""
    names = [name for name, _ in periods]
    return [
        Page(
            feed_path,
            name,
            members,
            names[i + 1] if i + 1 < len(names) else None,
            names[i - 1] if i > 0 else None,
        )
        for i, (name, members) in enumerate(periods)
    ]
