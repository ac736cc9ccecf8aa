"""The store's tables, and the cache file that keeps them between runs.

A run after a restart re-reads only the files whose (mtime, size, inode) changed and re-renders
only the feeds whose input changed. The cache is an optimisation and never an authority: a file
that is not a database, a schema from another feedsync version, settings that differ, or a
cache another process keeps locked all lead to a fresh cache (or a private one in memory for
this run), with a warning, never to a failed run or a trusted stale answer.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from pathlib import Path

from feedsync import __version__
from feedsync.config import Config

log = logging.getLogger(__name__)

SCHEMA = 13
LOCK_WAIT_SECONDS = 5.0  # how long a run waits for another feedsync before going it alone

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY,   -- path relative to the content folder
    mtime_ns INTEGER,          -- the stamp when read (NULL when unknown): a changed stamp
    size INTEGER,              -- means the file is read again
    inode INTEGER,
    id TEXT,                   -- the article id, when the file gave a kept article
    digest BLOB,               -- hash of `article`: what a feed fingerprint is built from
    domain TEXT,               -- provider domain, for a provider feed's link
    topics BLOB,               -- marshalled topic keys, for a feed's category labels
    article BLOB,              -- the normalised article (rows.encode_article)
    entries BLOB,              -- marshalled {format: its entry as feeds show it} (rendered
                               -- with its own topic spellings), NULL when not pre-rendered
    problems BLOB,             -- marshalled problems, NULL when none
    error INTEGER NOT NULL DEFAULT 0,
    claim TEXT                 -- the id a file asked for and lost to a file earlier by path
);
CREATE INDEX IF NOT EXISTS files_id ON files(id) WHERE id IS NOT NULL;
CREATE INDEX IF NOT EXISTS files_claim ON files(claim) WHERE claim IS NOT NULL;
-- Covering index for the walk's comparison: rows hold kilobytes of article and entries, so
-- reading stamps from the table itself would read the whole file.
CREATE INDEX IF NOT EXISTS files_stamp ON files(source, mtime_ns, size, inode, error);
CREATE INDEX IF NOT EXISTS files_troubled ON files(source) WHERE problems IS NOT NULL;
CREATE TABLE IF NOT EXISTS members (   -- one row per (feed, published article)
    ref TEXT NOT NULL,         -- 'all:', 'topic:<key>' or 'provider:<key>'
    rank REAL NOT NULL,        -- select.rank: minus the publication time, newest first
    id TEXT NOT NULL,
    source TEXT NOT NULL,
    spelling TEXT NOT NULL,    -- how this article writes the topic or provider
    PRIMARY KEY (ref, rank, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_source ON members(source);
CREATE TABLE IF NOT EXISTS spellings ( -- how many members write a feed's name each way: the
    ref TEXT NOT NULL,         -- feed is named by the most common spelling, found without
    spelling TEXT NOT NULL,    -- counting its members
    n INTEGER NOT NULL,
    PRIMARY KEY (ref, spelling)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feeds (     -- every feed that exists, as last written
    ref TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    fingerprint BLOB,          -- NULL: not written yet
    listing BLOB               -- rows.encode_listing: what index.html and OPML show of it
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tombstones ( -- articles that left a feed readers had seen them in
    ref TEXT NOT NULL,         -- the feed they left
    id TEXT NOT NULL,          -- the entry's id there
    since REAL NOT NULL,       -- when a run first saw it go (seconds since the epoch)
    PRIMARY KEY (ref, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS archives (   -- every archive document, as last written
    ref TEXT NOT NULL,
    name TEXT NOT NULL,        -- its period ("2023-08")
    path TEXT NOT NULL,        -- its output path, no suffix
    fingerprint BLOB NOT NULL,
    PRIMARY KEY (ref, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outputs (   -- what we last wrote, to notice files changed behind us
    name TEXT PRIMARY KEY,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    inode INTEGER NOT NULL
) WITHOUT ROWID;
"""


def default_path(cfg: Config) -> Path:
    """Under the user's cache folder, one file per (content folder, output folder) pair."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    pair = f"{cfg.content_dir.absolute()}\0{cfg.output_dir.absolute()}"
    name = hashlib.blake2b(pair.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()
    return base / "feedsync" / f"{name}.sqlite3"


def fingerprint(cfg: Config) -> str:
    """Everything that changes what a file reads as or a feed renders as; a change starts over."""
    relevant = (
        SCHEMA,
        __version__,
        str(cfg.content_dir.absolute()),
        str(cfg.output_dir.absolute()),
        cfg.base_url,
        cfg.site_title,
        cfg.site_url,
        cfg.patterns,
        cfg.max_items,
        cfg.max_file_bytes,
        cfg.max_field_chars,
        cfg.formats,
        cfg.websub_hub,
        cfg.icon,
        cfg.image_type,
    )
    return hashlib.sha256(repr(relevant).encode("utf-8", "surrogateescape")).hexdigest()


def create(db: sqlite3.Connection) -> None:
    """The tables, statement by statement (executescript would commit the open transaction)."""
    for statement in _TABLES.split(";\n"):
        if statement.strip():
            db.execute(statement)


def memory() -> sqlite3.Connection:
    """A private cache for one process (--no-cache, tests, or when the file cannot be used).

    SQLite's nameless database: in memory while small, spilled to a temporary file (deleted
    on close) beyond its page cache, so a private index of 100,000 articles stays bounded too.
    """
    db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA cache_size=-32768")
    db.execute("PRAGMA synchronous=OFF")  # nothing to keep after the process
    create(db)
    return db


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass


def _connect(path: Path, wanted: str) -> sqlite3.Connection:
    db = sqlite3.connect(
        path, timeout=LOCK_WAIT_SECONDS, isolation_level=None, check_same_thread=False
    )
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # a lost last run is re-done, never corrupt
        db.execute("PRAGMA cache_size=-32768")  # 32 MB of pages: bounded memory
        db.execute("BEGIN IMMEDIATE")  # one writer at a time; waits for another feedsync
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            found = None
            if "meta" in tables:
                row = db.execute("SELECT value FROM meta WHERE key='config'").fetchone()
                found = row[0] if row else None
            if found != wanted:
                if tables:
                    log.warning(
                        "cache %s is from other settings or another version; rebuilding it", path
                    )
                for (name,) in db.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                ).fetchall():
                    db.execute(f'DROP TABLE "{name}"')
                create(db)
                db.execute("INSERT OR REPLACE INTO meta VALUES ('config', ?)", (wanted,))
            # No integrity check here: it reads the whole file, longer than a run that finds
            # nothing changed. Damage surfaces as DatabaseError while the run reads the
            # tables; `generate.run` then discards the file and runs without it.
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    except BaseException:
        db.close()
        raise
    return db


def open_cache(cfg: Config, path: Path | None = None) -> sqlite3.Connection:
    """The cache for `cfg`, rebuilt when it cannot be trusted; in memory when it cannot be had."""
    path = path or cfg.cache_file or default_path(cfg)
    wanted = fingerprint(cfg)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning(
            "cannot create the cache folder %s (%s); running without a cache",
            path.parent,
            exc.strerror or exc,
        )
        return memory()
    reason: sqlite3.Error | None = None
    for attempt in range(2):
        try:
            return _connect(path, wanted)
        except sqlite3.DatabaseError as exc:  # not a database, damaged, or busy
            if busy(exc):
                log.warning(
                    "cache %s is in use by another feedsync; this run reads every file itself", path
                )
                return memory()
            reason = exc
        if attempt == 0:
            log.warning("cache %s cannot be used (%s); rebuilding it", path, reason)
            _remove(path)
    log.warning("cache %s cannot be rebuilt (%s); running without a cache", path, reason)
    return memory()


def busy(exc: sqlite3.Error) -> bool:
    """Another connection holds the database (SQLITE_BUSY or SQLITE_LOCKED, by error code)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def discard(db: sqlite3.Connection) -> None:
    """Close a cache found damaged mid-run and delete its file, so the next run rebuilds it."""
    try:
        rows = db.execute("PRAGMA database_list").fetchall()
    except sqlite3.Error:
        rows = []
    try:
        db.close()
    except sqlite3.Error:
        pass
    for _, name, file in rows:
        if name == "main" and file:
            _remove(Path(file))
