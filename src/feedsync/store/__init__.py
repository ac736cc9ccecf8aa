"""The store: the SQLite index of files, articles, feed members and what was written.

`schema` owns the tables and the cache file, `index` the queries, `rows` the row types and
how they are packed; recovery (a cache that is busy or found damaged mid-run) is here, so the
pipeline never has to know what can go wrong with a database.
"""

from __future__ import annotations

import logging
import sqlite3

from feedsync.config import Config
from feedsync.store import schema
from feedsync.store.index import Index

__all__ = ["Index", "begin", "damaged", "open_index"]

log = logging.getLogger(__name__)


def open_index(cfg: Config) -> Index:
    """The index kept in the cache file for `cfg`, or a private one when caching is off."""
    return Index(schema.open_cache(cfg)) if cfg.cache else Index()


def begin(index: Index) -> Index:
    """Start a run's transaction; when the cache cannot be had (another feedsync holds it, or
    the disk failed) the run goes on with a private index, which is returned instead."""
    try:
        index.begin()
        return index
    except sqlite3.OperationalError as exc:
        why = "busy" if schema.busy(exc) else "unusable"
        log.warning("cache is %s (%s); this run reads every file itself", why, exc)
    index.close()
    private = Index()
    private.begin()
    return private


def damaged(index: Index, exc: sqlite3.DatabaseError) -> Index:
    """The cache file turned out damaged mid-run: delete it (the next run rebuilds it) and
    return a private index, begun, for this run to start over on."""
    log.warning("cache cannot be used (%s); rebuilding it, this run reads every file", exc)
    schema.discard(index.db)
    private = Index()
    private.begin()
    return private
