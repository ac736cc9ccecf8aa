"""Which articles each feed holds, kept up to date one file at a time, in SQLite.

The index is the memory between runs: for every file its stamp, its last good article and its
problems, and for every topic, provider and the feed of everything a list of its published
articles ordered newest first (an index on (feed, -time, id)). Putting or removing one article
touches only the rows of the feeds it is in, so the cost of an edit does not grow with the
folder, and nothing but the rows a feed shows is ever loaded into memory.

The same tables live in memory for one process (`--no-cache`, tests) or in the cache file
(`schema.py`), so the one-shot command, a restarted command and the daemon share one code path.
No file I/O here: the pipeline feeds it what it read. The rules are not here either: which
feeds an article is in and what a feed is called come from `membership`, what a feed shows
from `select`; this is where their answers are kept and looked up.
"""

from __future__ import annotations

import marshal
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from feedsync import membership, select
from feedsync.membership import ALL_TEXT, Ref, ref_of, ref_text
from feedsync.model import Article, FeedKind, Listing, Problem, Severity
from feedsync.scan import Stamp
from feedsync.select import Member
from feedsync.store import schema
from feedsync.store.rows import (
    Known,
    Row,
    Written,
    decode_article,
    decode_listing,
    decode_problems,
    encode_problems,
)

ARTICLE_CACHE = 20_000  # decoded articles kept in memory (about 2 kB each)
LISTING_CACHE = 8192  # decoded listings: most feeds' listings are the same from run to run


def _stamp_row(stamp: Stamp | None) -> tuple[int | None, int | None, int | None]:
    return (None, None, None) if stamp is None else (stamp[0], stamp[1], stamp[2])


class Index:
    """Membership of every feed; only `generate` (one thread at a time) changes it."""

    def __init__(self, db: sqlite3.Connection | None = None) -> None:
        self.db = db if db is not None else schema.memory()
        self.bulk = False  # set by a run that will re-render everything: skip name checks
        self._articles: OrderedDict[str, tuple[Article, dict[str, bytes]]] = OrderedDict()
        self._listings: OrderedDict[tuple[Ref, str, bytes], Listing] = OrderedDict()
        self._names: dict[str, str] = {}  # best spellings, valid until membership changes
        self._version: int | None = None
        self._feeds: dict[Ref, Written] | None = None
        self._published: int | None = None  # rows of the feed of everything
        self.fixed: list[str] = []  # files in error that this run read back without errors
        self.reread: set[str] = set()  # files whose id changed hands: `Changes.settle` reads them
        # (feed, id, rank before, rank now or None) of every member row a change took away or
        # moved in time: what `tombstones.departed` turns into tombstones.
        self.left: list[tuple[Ref, str, float, float | None]] = []
        # The ranks of every member row a change took away or put, by feed: the archive
        # months an incremental run must look at. `relabelled`: a topic's name changed, so
        # every archive holding it is to be looked at.
        self.touched: dict[Ref, set[float]] = {}
        self.relabelled = False

    # -- transactions ------------------------------------------------------------------------

    def begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:  # another process wrote the cache: forget what we hold
            self._forget_cached()
            self._version = version

    def commit(self) -> None:
        if self.db.in_transaction:
            self.db.execute("COMMIT")

    def rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
        self._forget_cached()
        self.fixed.clear()
        self.reread.clear()

    def _forget_cached(self) -> None:
        """Drop what is kept in memory from the tables (they changed under us)."""
        self._articles.clear()
        self._names.clear()
        self._feeds = None
        self._published = None

    def close(self) -> None:
        self.rollback()
        self.db.close()

    def meta(self, key: str) -> object:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: object) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- files -------------------------------------------------------------------------------

    def known(self) -> dict[str, Known]:
        """Every file the index knows, with its stamp and whether it is in error."""
        return {
            source: Known((mtime, size, inode) if mtime is not None else None, bool(error))
            for source, mtime, size, inode, error in self.db.execute(
                "SELECT source, mtime_ns, size, inode, error FROM files INDEXED BY files_stamp"
            )
        }

    def sources_under(self, prefix: str) -> list[str]:
        """Known files inside a folder (relative path prefix), for folder moves and deletes."""
        start = prefix.rstrip("/") + "/"
        end = prefix.rstrip("/") + "0"  # '0' sorts right after '/'
        return [
            r[0]
            for r in self.db.execute(
                "SELECT source FROM files WHERE source >= ? AND source < ? ORDER BY source",
                (start, end),
            )
        ]

    def errors(self) -> list[Problem]:
        """Every current problem, file by file (warnings included)."""
        return [
            p
            for (blob,) in self.db.execute(
                "SELECT problems FROM files WHERE problems IS NOT NULL ORDER BY source"
            )
            for p in decode_problems(blob)
        ]

    @property
    def article_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM files WHERE id IS NOT NULL").fetchone()[0]

    def set_record(
        self,
        source: str,
        path: Path,
        stamp: Stamp | None,
        entry: Row | None,
        problems: tuple[Problem, ...],
    ) -> tuple[set[Ref], list[Problem]]:
        """Store what was read from `source`; an unreadable file keeps its last good article.

        Two files with one id: the one first by path keeps it, whichever the run read first,
        and the other is left out with a problem. When the keeper goes or gives up the id, the
        files that asked for it are to be read again (`reread`), so the next one takes over.
        Returns the feeds whose membership changed, and the id conflicts this found.
        """
        db = self.db
        old = db.execute("SELECT id, digest, error FROM files WHERE source=?", (source,)).fetchone()
        conflicts: list[Problem] = []
        dirty: set[Ref] = set()
        lost = False
        if entry is not None:
            owner = db.execute(
                "SELECT source FROM files WHERE id=? AND source<>? LIMIT 1", (entry.id, source)
            ).fetchone()
            if owner is not None and owner[0] < source:
                lost = True
                conflicts.append(_conflict(path, entry.id, owner[0]))
                problems = (*problems, *conflicts)
            elif owner is not None:  # this file is first by path: the id moves to it
                demoted, problem = self._demote(
                    owner[0], entry.id, _beside(path, source, owner[0]), source
                )
                dirty |= demoted
                conflicts.append(problem)
        error = any(p.severity is Severity.ERROR for p in problems)
        if old is not None and old[2] and not error:
            self.fixed.append(source)
        if entry is None and old is not None:
            # Unreadable now: keep the last good article, record the problem.
            db.execute(
                "UPDATE files SET mtime_ns=?, size=?, inode=?, problems=?, error=? WHERE source=?",
                (*_stamp_row(stamp), encode_problems(problems), error, source),
            )
            return set(), conflicts
        kept = None if lost else entry
        if old is None or old[1] != (kept.digest if kept else None):
            dirty |= self._replace(source, old is not None and old[0] is not None, kept)
        if kept is None:
            db.execute(
                "INSERT OR REPLACE INTO files (source, mtime_ns, size, inode, problems,"
                " error, claim) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    source,
                    *_stamp_row(stamp),
                    encode_problems(problems),
                    error,
                    entry.id if entry is not None else None,
                ),
            )
        else:
            db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (
                    source,
                    *_stamp_row(stamp),
                    kept.id,
                    kept.digest,
                    kept.domain,
                    kept.topics,
                    kept.blob,
                    kept.rendered,
                    encode_problems(problems),
                    error,
                ),
            )
        if old is not None and old[0] is not None and old[0] != (kept.id if kept else None):
            self._release(old[0])
        return dirty, conflicts

    def _demote(
        self, owner: str, id: str, owner_path: Path, winner: str
    ) -> tuple[set[Ref], Problem]:
        """`owner` held `id`, but `winner`, earlier by path, has it too: leave `owner` out."""
        db = self.db
        (blob,) = db.execute("SELECT problems FROM files WHERE source=?", (owner,)).fetchone()
        problem = _conflict(owner_path, id, winner)
        dirty = self._replace(owner, True, None)
        db.execute(
            "UPDATE files SET id=NULL, digest=NULL, domain=NULL, topics=NULL, article=NULL,"
            " entries=NULL, problems=?, error=1, claim=? WHERE source=?",
            (encode_problems((*decode_problems(blob), problem)), id, owner),
        )
        self._release(id, keep=owner)  # the others that asked for it name the new holder
        return dirty, problem

    def _release(self, id: str, keep: str = "") -> None:
        """`id` changed hands: the files that asked for it are read again."""
        self.reread.update(
            source
            for (source,) in self.db.execute("SELECT source FROM files WHERE claim=?", (id,))
            if source != keep
        )

    def set_stamp(self, source: str, stamp: Stamp) -> None:
        """The same file under a new inode (its folder was replaced by a copy): note the stamp."""
        self.db.execute(
            "UPDATE files SET mtime_ns=?, size=?, inode=? WHERE source=?", (*stamp, source)
        )

    def forget(self, source: str) -> set[Ref]:
        """The file is gone (deleted, moved away, no longer matching): drop its article."""
        old = self.db.execute("SELECT id FROM files WHERE source=?", (source,)).fetchone()
        if old is None:
            return set()
        dirty = self._replace(source, old[0] is not None, None)
        self.db.execute("DELETE FROM files WHERE source=?", (source,))
        if old[0] is not None:
            self._release(old[0])
        return dirty

    # -- membership --------------------------------------------------------------------------

    def _replace(self, source: str, had_article: bool, new: Row | None) -> set[Ref]:
        db = self.db
        self._articles.pop(source, None)
        placed = (
            db.execute(
                "SELECT ref, spelling, id, rank FROM members WHERE source=?", (source,)
            ).fetchall()
            if had_article
            else []
        )
        old_rows = [(r, s) for r, s, _, _ in placed]
        if not self.bulk:
            after = {(r, new.id): new.rank for r, _ in new.refs} if new is not None else {}
            for r, _, id_, rank in placed:
                now_rank = after.get((r, id_))
                if now_rank != rank:
                    self.left.append((ref_of(r), id_, rank, now_rank))
                self.touched.setdefault(ref_of(r), set()).add(rank)
            for (r, _), rank in after.items():
                self.touched.setdefault(ref_of(r), set()).add(rank)
        old_refs = [r for r, _ in old_rows]
        new_refs = [r for r, _ in new.refs] if new is not None else []
        topics = {r for r in (*old_refs, *new_refs) if r.startswith("topic:")}
        names = {} if self.bulk else {r: self._name(r) for r in topics}
        if old_rows:
            db.execute("DELETE FROM members WHERE source=?", (source,))
            db.executemany("UPDATE spellings SET n = n - 1 WHERE ref=? AND spelling=?", old_rows)
            db.executemany("DELETE FROM spellings WHERE ref=? AND spelling=? AND n <= 0", old_rows)
        if new is not None and new.refs:
            db.executemany(
                "INSERT INTO members VALUES (?, ?, ?, ?, ?)",
                [(r, new.rank, new.id, source, s) for r, s in new.refs],
            )
            db.executemany(
                "INSERT INTO spellings VALUES (?, ?, 1)"
                " ON CONFLICT (ref, spelling) DO UPDATE SET n = n + 1",
                new.refs,
            )
        if self._published is not None:
            self._published += (ALL_TEXT in new_refs) - (ALL_TEXT in old_refs)
        dirty = {ref_of(r) for r in (*old_refs, *new_refs)}
        for r in (*old_refs, *new_refs):  # a feed's name depends on its own members only
            self._names.pop(r, None)
        for ref, before in names.items():
            if self._name(ref) != before:
                self.relabelled = True
                # The feed's title and every item's category label change: touch them all.
                dirty.update(
                    ref_of(r)
                    for (r,) in db.execute(
                        "SELECT DISTINCT b.ref FROM members a JOIN members b"
                        " ON a.source = b.source WHERE a.ref=?",
                        (ref,),
                    )
                )
        return dirty

    def _name(self, ref: str) -> str:
        """The feed's name by `membership.name`, from its spellings count."""
        name = self._names.get(ref)
        if name is None:
            counts = dict(
                self.db.execute("SELECT spelling, n FROM spellings WHERE ref=? AND n > 0", (ref,))
            )
            name = self._names[ref] = membership.name(counts)
        return name

    # -- reading it back ---------------------------------------------------------------------

    def members(self, ref: Ref) -> Iterator[Member]:
        """The feed's members in `select.order_key` order (the table's own order), read as
        they are taken: `select.shown` stops reading at the feed's cap."""
        rows = self.db.execute(
            "SELECT m.rank, m.id, m.source, f.digest, f.domain, f.topics FROM members m"
            " JOIN files f ON f.source = m.source WHERE m.ref=? ORDER BY m.rank, m.id",
            (ref_text(ref),),
        )
        for rank, id_, source, digest, domain, topics in rows:
            yield Member(rank, id_, source, digest, domain, marshal.loads(topics))

    def union_members(self, refs: Sequence[Ref]) -> Iterator[Member]:
        """The members of several feeds, each article once, in `select.order_key` order: what
        a custom feed holds."""
        if len(refs) == 1:
            yield from self.members(refs[0])
            return
        marks = ",".join("?" * len(refs))
        rows = self.db.execute(
            "SELECT DISTINCT m.rank, m.id, m.source, f.digest, f.domain, f.topics FROM members m"
            f" JOIN files f ON f.source = m.source WHERE m.ref IN ({marks}) ORDER BY m.rank, m.id",
            [ref_text(r) for r in refs],
        )
        for rank, id_, source, digest, domain, topics in rows:
            yield Member(rank, id_, source, digest, domain, marshal.loads(topics))

    def members_between(self, refs: Sequence[Ref], lo: float, hi: float) -> Iterator[Member]:
        """The members of these feeds (each article once) with lo <= rank < hi, in order:
        one archive month's."""
        marks = ",".join("?" * len(refs))
        rows = self.db.execute(
            "SELECT DISTINCT m.rank, m.id, m.source, f.digest, f.domain, f.topics FROM members m"
            f" JOIN files f ON f.source = m.source WHERE m.ref IN ({marks})"
            " AND m.rank>=? AND m.rank<? ORDER BY m.rank, m.id",
            (*(ref_text(r) for r in refs), lo, hi),
        )
        for rank, id_, source, digest, domain, topics in rows:
            yield Member(rank, id_, source, digest, domain, marshal.loads(topics))

    def union_count(self, refs: Sequence[Ref], now: datetime) -> int:
        """How many articles of several feeds (each once) are out at `now`."""
        if len(refs) == 1:
            return self.published_count(refs[0], now)
        if not refs:
            return 0
        marks = ",".join("?" * len(refs))
        (n,) = self.db.execute(
            f"SELECT count(DISTINCT source) FROM members WHERE ref IN ({marks}) AND rank>=?",
            (*(ref_text(r) for r in refs), select.bound(now)),
        ).fetchone()
        return int(n)

    def published_count(self, ref: Ref, now: datetime) -> int:
        """How many members the feed has whose time has come (`select.bound`), capped or not."""
        (n,) = self.db.execute(
            "SELECT count(*) FROM members WHERE ref=? AND rank>=?",
            (ref_text(ref), select.bound(now)),
        ).fetchone()
        return int(n)

    def _row(self, source: str) -> tuple[Article, dict[str, bytes]]:
        hit = self._articles.get(source)
        if hit is not None:
            self._articles.move_to_end(source)
            return hit
        blob, rendered = self.db.execute(
            "SELECT article, entries FROM files WHERE source=?", (source,)
        ).fetchone()
        row = self._articles[source] = (
            decode_article(blob),
            marshal.loads(rendered) if rendered else {},
        )
        if len(self._articles) > ARTICLE_CACHE:
            self._articles.popitem(last=False)
        return row

    def article(self, source: str) -> Article:
        """The full article of a published file, decoded once and kept in a bounded LRU."""
        return self._row(source)[0]

    def entry(self, article: Article, fmt: str) -> bytes | None:
        """The article's entry in `fmt` as rendered when it was read, if it was."""
        found, entries = self._row(article.source)
        return entries.get(fmt) if found == article else None

    def has_visible(self, ref: Ref, now: datetime) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM members WHERE ref=? AND rank>=? LIMIT 1",
                (ref_text(ref), select.bound(now)),
            ).fetchone()
            is not None
        )

    def name(self, ref: Ref) -> str:
        return self._name(ref_text(ref))

    def topic_name(self, key: str) -> str:
        """What the topic's own feed is called: the label items use for it."""
        return self._name(ref_text((FeedKind.TOPIC, key)))

    def refs(self) -> set[Ref]:
        """Every feed with at least one published article (visible or not)."""
        return {ref_of(r) for (r,) in self.db.execute("SELECT DISTINCT ref FROM members")}

    def existing(self, now: datetime) -> dict[FeedKind, set[str]]:
        """Topic and provider keys with at least one article a reader may see at `now`."""
        keys: dict[FeedKind, set[str]] = {FeedKind.TOPIC: set(), FeedKind.PROVIDER: set()}
        for (r,) in self.db.execute(
            "SELECT DISTINCT ref FROM members WHERE rank>=? AND ref<>?",
            (select.bound(now), ALL_TEXT),
        ):
            kind, key = ref_of(r)
            keys[kind].add(key)
        return keys

    def counts(self, now: datetime) -> tuple[int, int]:
        """(published and visible, published but scheduled for later)."""
        if self._published is None:
            (self._published,) = self.db.execute(
                "SELECT count(*) FROM members WHERE ref=?", (ALL_TEXT,)
            ).fetchone()
        total = self._published
        (later,) = self.db.execute(
            "SELECT count(*) FROM members WHERE ref=? AND rank<?", (ALL_TEXT, select.bound(now))
        ).fetchone()
        return total - later, later

    def next_due(self, now: datetime) -> float | None:
        """Timestamp of the next article to come out of embargo, for the scheduler."""
        row = self.db.execute(
            "SELECT max(rank) FROM members WHERE ref=? AND rank<?", (ALL_TEXT, select.bound(now))
        ).fetchone()
        return -row[0] if row[0] is not None else None

    def due_between(self, earlier: datetime, later: datetime) -> set[Ref]:
        """Feeds that gain (or, if the clock went back, lose) articles between two times."""
        lo, hi = sorted((earlier.timestamp(), later.timestamp()))
        return {
            ref_of(r)
            for (r,) in self.db.execute(
                "SELECT DISTINCT b.ref FROM members a JOIN members b ON a.source = b.source"
                " WHERE a.ref=? AND a.rank>=? AND a.rank<?",
                (ALL_TEXT, -hi, -lo),
            )
        }

    # -- archives ----------------------------------------------------------------------------

    def archives(self, ref: Ref) -> dict[str, tuple[str, bytes]]:
        """The feed's archive documents as last written: name -> (path, fingerprint)."""
        return {
            name: (path, fp)
            for name, path, fp in self.db.execute(
                "SELECT name, path, fingerprint FROM archives WHERE ref=?", (ref_text(ref),)
            )
        }

    def set_archive(self, ref: Ref, name: str, path: str, fingerprint: bytes) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO archives VALUES (?, ?, ?, ?)",
            (ref_text(ref), name, path, fingerprint),
        )

    def drop_archive(self, ref: Ref, name: str) -> None:
        self.db.execute("DELETE FROM archives WHERE ref=? AND name=?", (ref_text(ref), name))

    def archive_paths(self) -> list[str]:
        """Every archive document's path (no suffix)."""
        return [p for (p,) in self.db.execute("SELECT path FROM archives WHERE name<>''")]

    def archived_refs(self) -> set[Ref]:
        return {ref_of(r) for (r,) in self.db.execute("SELECT DISTINCT ref FROM archives")}

    # -- tombstones --------------------------------------------------------------------------

    def add_tombstone(self, ref: Ref, id: str, since: float) -> None:
        """`id` left `ref` at `since`; an earlier tombstone for it keeps its time."""
        self.db.execute(
            "INSERT OR IGNORE INTO tombstones VALUES (?, ?, ?)", (ref_text(ref), id, since)
        )

    def tombstones(self, ref: Ref, after: float) -> list[tuple[str, float]]:
        """The feed's tombstones younger than `after`, as (id, since)."""
        return self.db.execute(
            "SELECT id, since FROM tombstones WHERE ref=? AND since>?", (ref_text(ref), after)
        ).fetchall()

    def drop_tombstones(self, ref: Ref, ids: Sequence[str] | None = None) -> None:
        """Forget these tombstones of the feed (their articles came back), or all of them."""
        if ids is None:
            self.db.execute("DELETE FROM tombstones WHERE ref=?", (ref_text(ref),))
        else:
            self.db.executemany(
                "DELETE FROM tombstones WHERE ref=? AND id=?", [(ref_text(ref), i) for i in ids]
            )

    def visible_ids(self, refs: Sequence[Ref], ids: Sequence[str], now: datetime) -> set[str]:
        """Which of `ids` are out in any of these feeds at `now`."""
        if not refs or not ids:
            return set()
        feeds = ",".join("?" * len(refs))
        wanted = ",".join("?" * len(ids))
        return {
            id_
            for (id_,) in self.db.execute(
                f"SELECT DISTINCT id FROM members WHERE ref IN ({feeds}) AND id IN ({wanted})"
                " AND rank>=?",
                (*(ref_text(r) for r in refs), *ids, select.bound(now)),
            )
        }

    def expiring(self, lo: float, hi: float, lifetime: float) -> set[Ref]:
        """Feeds with a tombstone whose time runs out in (lo, hi]: their bytes change then."""
        return {
            ref_of(r)
            for (r,) in self.db.execute(
                "SELECT DISTINCT ref FROM tombstones WHERE since+?>? AND since+?<=?",
                (lifetime, lo, lifetime, hi),
            )
        }

    def next_expiry(self, now: float, lifetime: float) -> float | None:
        (when,) = self.db.execute(
            "SELECT min(since) + ? FROM tombstones WHERE since+?>?", (lifetime, lifetime, now)
        ).fetchone()
        return float(when) if when is not None else None

    # -- what was written --------------------------------------------------------------------

    def feeds(self) -> dict[Ref, Written]:
        """Every feed as last written. A copy: change it freely."""
        if self._feeds is None:
            self._feeds = {
                ref_of(r): Written(p, fp, listing)
                for r, p, fp, listing in self.db.execute(
                    "SELECT ref, path, fingerprint, listing FROM feeds"
                )
            }
        return dict(self._feeds)

    def set_feed(
        self, ref: Ref, path: str, fingerprint: bytes | None, listing: bytes | None
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO feeds VALUES (?, ?, ?, ?)",
            (ref_text(ref), path, fingerprint, listing),
        )
        if self._feeds is not None:
            self._feeds[ref] = Written(path, fingerprint, listing)

    def drop_feed(self, ref: Ref) -> None:
        self.db.execute("DELETE FROM feeds WHERE ref=?", (ref_text(ref),))
        self.drop_tombstones(ref)  # a feed that is gone announces nothing
        if self._feeds is not None:
            self._feeds.pop(ref, None)

    def listings(self) -> list[Listing]:
        """Every written feed as index.html and feeds.opml show it, without loading articles."""
        found = []
        for ref, (path, _, blob) in self.feeds().items():
            if blob is None:
                continue
            key = (ref, path, blob)
            listing = self._listings.get(key)
            if listing is None:
                listing = self._listings[key] = decode_listing(ref, path, blob)
                if len(self._listings) > LISTING_CACHE:
                    self._listings.popitem(last=False)
            found.append(listing)
        return found

    def outputs(self) -> dict[str, Stamp]:
        return {
            name: (mtime, size, inode)
            for name, mtime, size, inode in self.db.execute(
                "SELECT name, mtime_ns, size, inode FROM outputs"
            )
        }

    def set_outputs(self, stamps: dict[str, Stamp | None]) -> None:
        for name, stamp in stamps.items():
            if stamp is None:
                self.db.execute("DELETE FROM outputs WHERE name=?", (name,))
            else:
                self.db.execute(
                    "INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?)", (name, *stamp)
                )


def _conflict(path: Path, id: str, holder: str) -> Problem:
    return Problem(
        path, None, f"id {id} is already used by {holder}; skipped (give each article its own 'id')"
    )


def _beside(path: Path, source: str, other: str) -> Path:
    """The path of `other` (relative to the content folder) given `path` of `source`."""
    root = path
    for _ in Path(source).parts:
        root = root.parent
    return root / other
