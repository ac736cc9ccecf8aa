"""Which articles each feed holds, kept up to date one file at a time.

The index is the memory between runs: the last good article of every file, and for every topic,
provider and the feed of everything a list of its published articles, kept sorted newest first.
Putting or removing one article touches only the lists of the feeds it is in (a bisect and a
memmove), so the cost of an edit does not grow with the number of articles in the folder.
No I/O here: `generate` feeds it what it read.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from feedsync import slug
from feedsync.model import Article, FeedKind, Problem

Ref = tuple[FeedKind, str]
ALL: Ref = (FeedKind.ALL, "")
Stamp = tuple[int, int, int]  # (mtime_ns, size, inode): has the file changed since we read it?


@dataclass(frozen=True, slots=True)
class Record:
    """One file as last seen: its stamp, its last good article and its current problems."""

    stamp: Stamp | None
    article: Article | None
    problems: tuple[Problem, ...] = ()


def _sort_key(article: Article) -> tuple[float, str]:
    """Newest first; equal times by id, so the order never depends on the disk."""
    return (-article.published_at.timestamp(), article.id)


def refs_of(article: Article) -> set[Ref]:
    """The feeds a published article belongs in."""
    refs = {ALL}
    refs.update((FeedKind.TOPIC, slug.key(t)) for t in article.topics)
    if article.provider is not None:
        refs.add((FeedKind.PROVIDER, slug.key(article.provider.name)))
    return refs


def _spelling(ref: Ref, article: Article) -> str:
    if ref[0] is FeedKind.PROVIDER and article.provider is not None:
        return article.provider.name
    return next((t for t in article.topics if slug.key(t) == ref[1]), ref[1])


def best_name(spellings: Counter[str]) -> str:
    """The spelling most articles use; ties go to the smallest, so it is stable."""
    return min(spellings, key=lambda s: (-spellings[s], s)) if spellings else ""


class Index:
    """Mutable membership of every feed; only `generate` (one thread) changes it."""

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.owners: dict[str, str] = {}  # article id -> source that holds it
        self.by_id: dict[str, Article] = {}  # published articles only
        self.members: dict[Ref, list[tuple[float, str]]] = {}
        self.spellings: dict[Ref, Counter[str]] = {}
        self.timeline: list[tuple[float, str]] = []  # published, oldest first
        self.sources: list[str] = []  # every known file, sorted: folder lookups by bisect
        self.troubled: set[str] = set()  # files with problems, so listing them stays cheap
        self.article_count = 0

    # -- files -------------------------------------------------------------------------------

    def sources_under(self, prefix: str) -> list[str]:
        """Known files inside a folder (relative path prefix), for folder moves and deletes."""
        start = prefix.rstrip("/") + "/"
        i = bisect_left(self.sources, start)
        found = []
        while i < len(self.sources) and self.sources[i].startswith(start):
            found.append(self.sources[i])
            i += 1
        return found

    def errors(self) -> list[Problem]:
        """Every current problem, file by file (warnings included)."""
        return [p for source in sorted(self.troubled) for p in self.records[source].problems]

    def _store(self, source: str, record: Record | None) -> Record | None:
        """Replace one file's record, keeping the sorted list, counts and problem set in step."""
        old = self.records.pop(source, None)
        if old is None and record is not None:
            insort(self.sources, source)
        elif old is not None and record is None:
            del self.sources[bisect_left(self.sources, source)]
        if old is not None and old.article is not None:
            self.article_count -= 1
        self.troubled.discard(source)
        if record is not None:
            self.records[source] = record
            if record.article is not None:
                self.article_count += 1
            if record.problems:
                self.troubled.add(source)
        return old

    def set_record(self, source: str, path: Path, stamp: Stamp | None, article: Article | None,
                   problems: tuple[Problem, ...]) -> tuple[set[Ref], Problem | None]:
        """Store what was read from `source`; an unreadable file keeps its last good article.

        Returns the feeds whose membership changed, and a problem when the article's id is
        already held by another file (it is then left out).
        """
        old = self.records.get(source)
        kept = old.article if old else None
        conflict = None
        if article is not None:
            owner = self.owners.get(article.id)
            if owner is not None and owner != source and owner in self.records:
                conflict = Problem(
                    path, None,
                    f"id {article.id} is already used by {owner}; skipped"
                    " (give each article its own 'id')",
                )
                article = None
                kept = None
            else:
                kept = article
        if conflict is not None:
            problems = (*problems, conflict)
        self._store(source, Record(stamp, kept, problems))
        return self._replace(old.article if old else None, kept), conflict

    def forget(self, source: str) -> set[Ref]:
        """The file is gone (deleted, moved away, no longer matching): drop its article."""
        old = self._store(source, None)
        return self._replace(old.article if old else None, None)

    # -- membership --------------------------------------------------------------------------

    def _replace(self, old: Article | None, new: Article | None) -> set[Ref]:
        if old == new:
            return set()
        dirty: set[Ref] = set()
        names_before = self._topic_names(old, new)
        if old is not None:
            if self.owners.get(old.id) == old.source and (new is None or new.id != old.id):
                del self.owners[old.id]
            if old.published:
                dirty |= self._unlink(old)
        if new is not None:
            self.owners[new.id] = new.source
            if new.published:
                dirty |= self._link(new)
        for ref, before in names_before.items():
            if best_name(self.spellings.get(ref, Counter())) != before:
                # The feed's title and every item's category label change: touch them all.
                for _, article_id in self.members.get(ref, []):
                    dirty |= refs_of(self.by_id[article_id])
        return dirty

    def _topic_names(self, *articles: Article | None) -> dict[Ref, str]:
        refs = {(FeedKind.TOPIC, slug.key(t)) for a in articles if a is not None for t in a.topics}
        return {ref: best_name(self.spellings.get(ref, Counter())) for ref in refs}

    def _link(self, article: Article) -> set[Ref]:
        key = _sort_key(article)
        refs = refs_of(article)
        for ref in refs:
            insort(self.members.setdefault(ref, []), key)
            if ref is not ALL:
                self.spellings.setdefault(ref, Counter())[_spelling(ref, article)] += 1
        insort(self.timeline, (-key[0], article.id))
        self.by_id[article.id] = article
        return refs

    def _unlink(self, article: Article) -> set[Ref]:
        key = _sort_key(article)
        refs = refs_of(article)
        for ref in refs:
            members = self.members[ref]
            del members[bisect_left(members, key)]
            if not members and ref is not ALL:
                del self.members[ref]
            if ref is not ALL:
                counts = self.spellings[ref]
                counts[_spelling(ref, article)] -= 1
                if counts[_spelling(ref, article)] <= 0:
                    del counts[_spelling(ref, article)]
                if not counts:
                    del self.spellings[ref]
        timeline = self.timeline
        del timeline[bisect_left(timeline, (-key[0], article.id))]
        del self.by_id[article.id]
        return refs

    # -- reading it back ---------------------------------------------------------------------

    def visible(self, ref: Ref, now: datetime, limit: int | None = None) -> list[Article]:
        """The feed's articles whose time has come, newest first, at most `limit`."""
        members = self.members.get(ref, [])
        start = bisect_left(members, (-now.timestamp(), ""))
        end = len(members) if limit is None else start + limit
        return [self.by_id[article_id] for _, article_id in members[start:end]]

    def has_visible(self, ref: Ref, now: datetime) -> bool:
        members = self.members.get(ref)
        return members is not None and bool(members) and -members[-1][0] <= now.timestamp()

    def name(self, ref: Ref) -> str:
        return best_name(self.spellings.get(ref, Counter()))

    def refs(self) -> list[Ref]:
        return sorted(self.members, key=lambda r: (r[0].value, r[1]))

    def counts(self, now: datetime) -> tuple[int, int]:
        """(published and visible, published but scheduled for later)."""
        future = len(self.timeline) - bisect_left(self.timeline, _after(now.timestamp()))
        return len(self.timeline) - future, future

    def next_due(self, now: datetime) -> float | None:
        """Timestamp of the next article to come out of embargo, for the scheduler."""
        i = bisect_left(self.timeline, _after(now.timestamp()))
        return self.timeline[i][0] if i < len(self.timeline) else None

    def due_between(self, earlier: datetime, later: datetime) -> set[Ref]:
        """Feeds that gain (or, if the clock went back, lose) articles between two times."""
        lo, hi = sorted((earlier.timestamp(), later.timestamp()))
        i = bisect_left(self.timeline, _after(lo))
        j = bisect_left(self.timeline, _after(hi))
        dirty: set[Ref] = set()
        for _, article_id in self.timeline[i:j]:
            dirty |= refs_of(self.by_id[article_id])
        return dirty


def _after(timestamp: float) -> tuple[float]:
    """A probe that sorts after every (timestamp, id) entry at `timestamp`, before later ones."""
    return (math.nextafter(timestamp, math.inf),)
