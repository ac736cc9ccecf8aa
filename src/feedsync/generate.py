"""The one pipeline: files -> articles -> feeds -> bytes on disk -> Report.

Every command runs the same `run` over a State whose index is either the cache file (what
`generate` and the daemon use) or private to the process (`check`, `--no-cache`, tests). A run
that walks the folder re-reads only files whose stamp changed since the index saw them; the
daemon passes just the paths the watcher reported. Either way only feeds whose fingerprint
changed are rendered and only files whose bytes changed are written, so the work of a run
follows what changed, not the size of the folder.
"""

from __future__ import annotations

import functools
import logging
import marshal
import os
import sqlite3
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedsync import cache, formats, scan, select, writer
from feedsync.config import Config
from feedsync.errors import OutputError
from feedsync.index import ALL, Entry, Index, Ref, entry_of
from feedsync.model import (
    INDEX_PAGE,
    OPML_FILE,
    Article,
    FeedKind,
    Listing,
    Problem,
    Report,
    Severity,
)
from feedsync.scan import Stamp

if TYPE_CHECKING:
    from feedsync import render

# Reading, normalising and rendering are imported where first used: a run that finds nothing
# changed needs none of them, and at 10,000 files their imports would be a third of its time.

log = logging.getLogger(__name__)
# Every file written and removed: shown with -v (the daemon's log gets a summary per run).
files_log = logging.getLogger("feedsync.files")

Progress = Callable[[Sequence[Any]], Iterable[Any]]  # ticks once per file read
MANAGED_FOLDERS = ("", *select.FOLDERS.values())
LISTINGS = (INDEX_PAGE, OPML_FILE)  # written after the feeds they link to
WRITE_BATCH = 300  # rendered files held before they are written
POOL_MIN_FILES = 2000  # below this, starting worker processes costs more than it saves
MAX_WORKERS = 8


class Interrupted(Exception):
    """A run was cancelled (the daemon is stopping) before it wrote anything."""


@dataclass
class State:
    """What a process keeps between runs: the index (in memory or the cache file), a renderer."""

    index: Index = field(default_factory=Index)
    renderer: render.Renderer | None = None

    @classmethod
    def open(cls, cfg: Config) -> State:
        """The state kept in the cache file for `cfg`, or a private one when caching is off."""
        if not cfg.cache:
            return cls()
        return cls(Index(cache.open_cache(cfg)))

    def close(self) -> None:
        self.index.close()


def load_article(
    path: Path, content_dir: Path, cfg: Config, source: str | None = None
) -> tuple[Article | None, list[Problem]]:
    """Read, parse and normalise one file; its problems never stop the others."""
    from feedsync import reader
    from feedsync.normalise import normalise

    data = reader.read_file(path, cfg.max_file_bytes)
    if isinstance(data, Problem):
        return None, [data]
    fm = reader.parse(data, path)
    if isinstance(fm, Problem):
        return None, [fm]
    if source is None:
        source = path.relative_to(content_dir).as_posix()
    return normalise(fm, path, source, cfg.max_field_chars)


Loaded = tuple[Path, str, "Stamp | None", "Entry | None", tuple[Problem, ...]]


def load_entry(
    path: Path, cfg: Config, source: str | None = None, renderer: render.Renderer | None = None
) -> Loaded:
    """One file as the index stores it; the per-file boundary, so it never raises.

    With a renderer, the article's RSS and Atom entries are rendered here too (with its own
    topic spellings, which is what feeds use unless another spelling of a topic wins): in a
    cold run this happens in the worker processes, in parallel.
    """
    stamp = scan.stamp(path)
    if source is None:
        source = path.relative_to(cfg.content_dir).as_posix()
    try:
        article, found = load_article(path, cfg.content_dir, cfg, source)
        entry = None
        if article is not None:
            rendered = {}
            if renderer is not None and article.published:
                rendered = renderer.entries(article, cfg.formats, article.topics)
            entry = entry_of(article, rendered)
    except Exception as exc:  # one bad file never stops the rest
        log.debug("unexpected failure reading %s", path, exc_info=True)
        entry, found = None, [Problem(path, None, f"could not be read ({exc!r})")]
    return path, source, stamp, entry, tuple(found)


_WORKER: tuple[Config, render.Renderer] | None = None


def site_of(cfg: Config) -> formats.Site:
    return formats.Site(cfg.base_url, cfg.site_title, cfg.home_url, cfg.websub_hub)


def renderer_for(state: State, cfg: Config) -> render.Renderer:
    """The state's renderer for this configuration's site, made on first need."""
    from feedsync import render

    site = site_of(cfg)
    if state.renderer is None or state.renderer.site != site:
        state.renderer = render.Renderer(site)
    return state.renderer


def _worker_init(cfg: Config) -> None:
    from feedsync import render

    global _WORKER
    _WORKER = (cfg, render.Renderer(site_of(cfg), cache_size=0))
    logging.getLogger().handlers.clear()  # the parent reports what workers find


def _worker_load(items: list[tuple[str, str]]) -> list[Loaded]:
    assert _WORKER is not None
    return [load_entry(Path(path), _WORKER[0], source, _WORKER[1]) for path, source in items]


def _load_all(
    paths: list[tuple[Path, str]], cfg: Config, parallel: bool, renderer: render.Renderer | None
) -> Generator[Loaded, None, None]:
    """Every file's entry, in order; a process pool does the parsing when it pays."""
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if not parallel or workers < 2 or len(paths) < POOL_MIN_FILES:
        for path, source in paths:
            yield load_entry(path, cfg, source, renderer)
        return
    import multiprocessing
    import threading
    from collections import deque
    from concurrent.futures import Future, ProcessPoolExecutor

    # fork is fastest, but forking a process that runs other threads (the daemon's watcher,
    # scheduler, server) can copy a lock some thread holds: start clean workers there.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    context = multiprocessing.get_context(method)
    chunk = max(16, min(256, len(paths) // (workers * 16)))
    chunks = [
        [(str(p), source) for p, source in paths[i : i + chunk]]
        for i in range(0, len(paths), chunk)
    ]
    pending: deque[Future[list[Loaded]]] = deque()
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_worker_init, initargs=(cfg,)
    ) as pool:
        try:
            for batch in chunks:
                # A bounded window of chunks in flight: results wait in memory only until the
                # index takes them, so memory does not grow with the folder.
                pending.append(pool.submit(_worker_load, batch))
                if len(pending) > workers * 3:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


class _Run:
    """The work of one call to `run`: which files were read, which feeds may have changed."""

    def __init__(self, cfg: Config, state: State, cancel: Callable[[], bool] | None) -> None:
        self.cfg = cfg
        self.cancel = cancel
        self.index = state.index
        self.state = state
        self.dirty: set[Ref] = set()
        self.read = 0
        self.problems: list[Problem] = []
        self.skip = [cfg.output_dir]

    def source(self, path: Path) -> str:
        return path.relative_to(self.cfg.content_dir).as_posix()

    def store(self, loaded: Loaded) -> None:
        path, source, stamp, entry, found = loaded
        self.read += 1
        dirty, conflict = self.index.set_record(source, path, stamp, entry, found)
        self.dirty |= dirty
        self.problems.extend(found)
        if conflict is not None:
            self.problems.append(conflict)

    def load(self, path: Path) -> None:
        self.store(load_entry(path, self.cfg, renderer=renderer_for(self.state, self.cfg)))

    def forget(self, source: str) -> None:
        self.dirty |= self.index.forget(source)

    def reconcile(self, progress: Progress | None, parallel: bool, relink: bool = False) -> None:
        """Walk the whole folder; re-read files that are new, changed or still in error.

        `relink`: the content folder was replaced by another folder (a deploy's rename or
        symlink swap), so every inode is new; a file with the modification time and size
        recorded is taken as the same file (as rsync does) and only its stamp is updated.
        """
        found, problems = scan.walk(self.cfg.content_dir, self.cfg.patterns, self.skip)
        self.problems.extend(problems)
        known = self.index.known()
        seen = {source for _, source, _ in found}
        for source in sorted(set(known) - seen):
            self.forget(source)
        stale = []
        for path, source, stamp in found:
            was = known.get(source)
            if was is None or was.error or was.stamp != stamp:
                if (
                    relink
                    and was is not None
                    and not was.error
                    and was.stamp is not None
                    and stamp is not None
                    and was.stamp[:2] == stamp[:2]
                ):
                    self.index.set_stamp(source, stamp)
                    continue
                stale.append((Path(path), source))
        renderer = renderer_for(self.state, self.cfg) if stale else None
        loaded = _load_all(stale, self.cfg, parallel, renderer)
        bar = iter(progress(stale)) if progress is not None and stale else None
        try:
            for item in loaded:
                if self.cancel is not None and self.cancel():
                    raise Interrupted
                if bar is not None:
                    next(bar, None)
                self.store(item)
        finally:
            loaded.close()  # stops the worker processes, also when interrupted
            if bar is not None:
                next(bar, None)  # lets the bar finish and clear itself

    def refresh(self, path: Path) -> None:
        """One path the watcher reported: a file to re-read, a folder to rescan, or gone."""
        content = self.cfg.content_dir
        if not path.is_absolute():
            path = Path.cwd() / path
        try:
            path = content / path.relative_to(content.absolute())
        except ValueError:
            return
        if path == content:
            return
        source = self.source(path)
        if path.is_dir() and not path.is_symlink():
            paths, problems = scan.discover(content, self.cfg.patterns, self.skip, under=path)
            self.problems.extend(problems)
            found = {self.source(p) for p in paths}
            for gone in self.index.sources_under(source):
                if gone not in found:
                    self.forget(gone)
            for p in paths:
                self.load(p)
            return
        for gone in self.index.sources_under(source):  # a folder that was deleted or moved
            self.forget(gone)
        verdict = scan.classify(path, content, self.cfg.patterns, self.skip)
        if verdict is True:
            self.load(path)
            return
        if isinstance(verdict, Problem):
            self.problems.append(verdict)
        self.forget(source)


def _log(problems: Iterable[Problem]) -> None:
    for problem in problems:
        level = logging.ERROR if problem.severity is Severity.ERROR else logging.WARNING
        log.log(level, "%s", problem, extra={"path": str(problem.path), "line": problem.line})


def _paths(
    index: Index, written: dict[Ref, str], now: datetime, fresh: bool, dirty: set[Ref]
) -> tuple[dict[Ref, str], set[Ref]]:
    """Every feed that exists at `now` and its path; slugs are reassigned only when that set
    changes. Also returns the feeds whose path changed."""
    if fresh:
        keys = index.existing(now)
    else:
        keys = {kind: set() for kind in select.FOLDERS}
        for kind, key in written:
            if kind is not FeedKind.ALL:
                keys[kind].add(key)
        before = {kind: set(k) for kind, k in keys.items()}
        for kind, key in dirty:
            if kind is FeedKind.ALL:
                continue
            if index.has_visible((kind, key), now):
                keys[kind].add(key)
            else:
                keys[kind].discard(key)
        if keys == before:
            return {**written, ALL: "all"}, set()
    paths, notes = select.paths(keys)
    moved = {ref for ref in set(paths) | set(written) if paths.get(ref) != written.get(ref)}
    if moved:
        for note in notes:
            log.warning("%s", note)
    return paths, moved


def _encode_listing(listing: Listing) -> bytes:
    return marshal.dumps(
        (
            listing.name,
            listing.link,
            listing.count,
            listing.newest.isoformat() if listing.newest else None,
            listing.updated.isoformat() if listing.updated else None,
        ),
        4,
    )


@functools.lru_cache(maxsize=8192)  # most feeds' listings are the same from run to run
def _decode_listing(ref: Ref, path: str, blob: bytes) -> Listing:
    name, link, count, newest, updated = marshal.loads(blob)
    return Listing(
        ref[0],
        ref[1],
        name,
        path,
        link,
        count,
        datetime.fromisoformat(newest) if newest else None,
        datetime.fromisoformat(updated) if updated else None,
    )


def _on_disk(out_dir: Path) -> dict[str, Stamp]:
    """Stamps of the files in the managed output folders, to notice changes made behind us."""
    found: dict[str, Stamp] = {}
    for folder in MANAGED_FOLDERS:
        where = out_dir / folder if folder else out_dir
        try:
            entries = list(os.scandir(where))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False):
                    name = f"{folder}/{entry.name}" if folder else entry.name
                    found[name] = scan.stamp_of(entry.stat(follow_symlinks=False))
            except OSError:
                continue
    return found


def run(
    cfg: Config,
    now: datetime,
    *,
    state: State | None = None,
    changed: Iterable[Path] | None = None,
    write: bool = True,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    parallel: bool = False,
    relink: bool = False,
) -> Report:
    """Bring the output folder in step with the content folder as seen at `now`.

    `changed=None` walks the whole content folder (one-shot runs, the daemon's start and its
    periodic reconcile), re-reading only files whose stamp changed since the index saw them;
    otherwise only those paths are looked at. Only feeds whose content changed are rendered;
    only files whose bytes changed are written. `cancel` is polled while reading; when it
    answers True the run stops with `Interrupted` before writing anything. Everything the run
    learns is committed to the index after the files are written, or not at all. `relink`
    (with `changed=None`) says the content folder was replaced: see `_Run.reconcile`.
    """
    state = state if state is not None else State()
    try:
        state.index.begin()
    except sqlite3.OperationalError as exc:  # busy (another feedsync), or the disk failed
        why = "busy" if cache.busy(exc) else "unusable"
        log.warning("cache is %s (%s); this run reads every file itself", why, exc)
        busy, state.index = state.index, Index()
        busy.close()
        state.index.begin()
    try:
        report = _run(cfg, now, state, changed, write, progress, cancel, parallel, relink)
    except sqlite3.DatabaseError as exc:  # the cache file is damaged: never fatal
        log.warning("cache cannot be used (%s); rebuilding it, this run reads every file", exc)
        cache.discard(state.index.db)
        state.index = Index()
        state.index.begin()
        return _run_private(cfg, now, state, write, progress, cancel, parallel)
    except BaseException:
        state.index.rollback()
        raise
    state.index.commit()
    return report


def _run_private(
    cfg: Config,
    now: datetime,
    state: State,
    write: bool,
    progress: Progress | None,
    cancel: Callable[[], bool] | None,
    parallel: bool,
) -> Report:
    """A full walk on a new private index (already begun), after the cache let us down."""
    try:
        report = _run(cfg, now, state, None, write, progress, cancel, parallel)
    except BaseException:
        state.index.rollback()
        raise
    state.index.commit()
    return report


def _run(
    cfg: Config,
    now: datetime,
    state: State,
    changed: Iterable[Path] | None,
    write: bool,
    progress: Progress | None,
    cancel: Callable[[], bool] | None,
    parallel: bool,
    relink: bool = False,
) -> Report:
    clock = _Phases()
    index = state.index
    stored_now = index.meta("last_now")
    last_now = datetime.fromisoformat(str(stored_now)) if stored_now is not None else None
    fresh = last_now is None  # this index has never written the output: do everything
    index.bulk = fresh
    index.fixed.clear()
    work = _Run(cfg, state, cancel)
    full = changed is None
    if changed is None:
        work.reconcile(progress, parallel, relink)
    else:
        for path in sorted(set(changed)):
            work.refresh(path)
    index.bulk = False
    # A full walk reports every current problem, also those of files it did not need to re-read.
    problems = _merge(work.problems, index.errors()) if full else work.problems
    _log(problems)
    for source in index.fixed:
        log.info(
            "%s: fixed, no longer in error",
            cfg.content_dir / source,
            extra={"path": str(cfg.content_dir / source)},
        )

    feeds = index.feeds()
    written_paths = {ref: row[0] for ref, row in feeds.items()}
    dirty = set(work.dirty)
    if fresh:
        dirty |= index.refs() | set(feeds) | {ALL}
    else:
        dirty |= index.due_between(last_now, now)  # type: ignore[arg-type]
    paths, moved = _paths(index, written_paths, now, fresh, dirty)
    dirty |= moved

    force: set[Ref] = set()
    listings_force = False
    on_disk: dict[str, Stamp] = {}
    if write and full:  # files changed or removed behind our back are put right
        recorded = index.outputs()
        on_disk = _on_disk(cfg.output_dir)

        def touched(name: str) -> bool:
            return name not in on_disk or on_disk[name] != recorded.get(name)

        force = {
            ref
            for ref, path in paths.items()
            if any(touched(formats.file_name(path, f)) for f in cfg.formats)
        }
        listings_force = any(touched(n) for n in LISTINGS)
        dirty |= force

    clock.mark("read")
    plans = {
        ref: select.plan(index, ref, paths[ref], now, cfg.max_items)
        for ref in dirty
        if ref in paths
    }

    written: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    clock.mark("plan")
    if write:
        files: dict[str, bytes] = {}
        deletes: set[str] = set()
        produced: set[str] = set()
        batches: list[writer.Outcome] = []

        def flush() -> None:
            """Write what is rendered so far: output bytes never pile up in memory."""
            batches.append(writer.apply(cfg.output_dir, files, ()))
            produced.update(files)
            files.clear()

        def stale(ref: Ref) -> bool:
            old, new = feeds.get(ref), plans[ref]
            return old is None or old[1] != new.fingerprint or old[0] != new.path or ref in force

        to_render = sorted(plans[ref].path for ref in plans if stale(ref))
        try:  # render the feeds that changed and write them, the listings last
            listing_changed = False
            for ref in sorted(dirty, key=lambda r: (r[0].value, r[1])):
                old, new = feeds.get(ref), plans.get(ref)
                if old is not None and (new is None or old[0] != new.path):
                    deletes.update(formats.file_name(old[0], f) for f in cfg.formats)
                if new is None:
                    if old is not None:
                        index.drop_feed(ref)
                        listing_changed = True
                    continue
                fingerprint = new.fingerprint
                if not stale(ref):
                    continue
                feed = select.materialise(index, new)
                renderer = renderer_for(state, cfg)
                for fmt in cfg.formats:
                    files[formats.file_name(feed.path, fmt)] = renderer.render(
                        feed, fmt, stored=index.entry
                    )
                listing = _encode_listing(Listing.of(feed))
                listing_changed = listing_changed or old is None or old[2] != listing
                index.set_feed(ref, new.path, fingerprint, listing)
                if len(files) >= WRITE_BATCH:
                    flush()
            if fresh or listing_changed or listings_force:
                listings = [
                    _decode_listing(ref, path, blob)
                    for ref, (path, _, blob) in index.feeds().items()
                    if blob is not None
                ]
                from feedsync import discovery

                site = site_of(cfg)
                files[INDEX_PAGE] = discovery.index_html(listings, site, cfg.formats)
                files[OPML_FILE] = discovery.opml(listings, site, cfg.formats)
            desired = {formats.file_name(p, f) for p in paths.values() for f in cfg.formats}
            if fresh:
                outcome = writer.sync(
                    cfg.output_dir,
                    files,
                    MANAGED_FOLDERS,
                    formats.suffixes(),
                    keep=desired,
                    last=LISTINGS,
                )
            elif full:  # what `sync` would find, from the listing we already have
                suffixes = formats.suffixes()
                wanted = desired | set(files) | produced
                temps = {n for n in on_disk if writer.leftover(_base(n), suffixes) == "temp"}
                ours = {
                    n
                    for n in on_disk
                    if n not in wanted and writer.leftover(_base(n), suffixes) == "ours"
                }
                outcome = writer.apply(cfg.output_dir, files, temps | ours, last=LISTINGS)
                outcome = writer.Outcome(
                    outcome.written,
                    outcome.unchanged,
                    tuple(n for n in outcome.removed if n not in temps),
                )
            else:
                outcome = writer.apply(
                    cfg.output_dir, files, deletes - set(files) - produced, last=LISTINGS
                )
        except OutputError as exc:
            raise _not_written(exc, cfg, to_render, produced, fresh) from exc
        clock.mark("write")
        written = tuple(n for b in (*batches, outcome) for n in b.written)
        unchanged = tuple(n for b in (*batches, outcome) for n in b.unchanged)
        removed = outcome.removed
        stamps: dict[str, Stamp | None] = {name: None for name in (*removed, *deletes)}
        for name in (*written, *unchanged):
            stamps[name] = scan.stamp(cfg.output_dir / name)
        index.set_outputs(stamps)
        if full:  # every other file we own is already as it should be
            unchanged = tuple(sorted((desired | set(LISTINGS)) - set(written)))
        for relative in written:
            files_log.info("wrote %s", relative, extra={"path": relative})
        for relative in removed:
            files_log.info("removed %s", relative, extra={"path": relative})
        index.set_meta("last_now", now.isoformat())

    published, scheduled = index.counts(now)
    return Report(
        files_read=work.read,
        articles=index.article_count,
        published=published,
        scheduled=scheduled,
        feeds=len(paths),
        written=written,
        unchanged=unchanged,
        removed=removed,
        problems=tuple(problems),
        next_due=(
            datetime.fromtimestamp(due, timezone.utc)
            if (due := index.next_due(now)) is not None
            else None
        ),
    )


def _not_written(
    exc: OutputError, cfg: Config, to_render: list[str], produced: set[str], fresh: bool
) -> OutputError:
    """The write failure, with what a reader will and will not find in the output folder."""
    missing = [
        p for p in to_render if not all(formats.file_name(p, f) in produced for f in cfg.formats)
    ]
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    parts = [str(exc)]
    if missing:
        parts.append(f"{len(missing)} of {len(to_render)} feeds were not written ({shown})")
    if fresh:
        parts.append(
            f"{INDEX_PAGE} and {OPML_FILE} were not written, so no listing links to a missing feed"
        )
    else:
        parts.append(
            "every file there is whole (its old or its new version) and the listings"
            " still name the feeds as they were"
        )
    parts.append("free some space or fix the folder's permissions, then run again")
    return OutputError("; ".join(parts))


class _Phases:
    """Where a run's time goes, for `-vv` (debug) logs."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        log.debug("phase %s: %.0f ms", phase, (now - self.last) * 1000)
        self.last = now


def _base(name: str) -> str:
    return name.rpartition("/")[2]


def _merge(found: list[Problem], stored: list[Problem]) -> list[Problem]:
    """This run's problems plus those of files it did not re-read, once each, in file order."""
    seen = set()
    merged = []
    for problem in (*found, *stored):
        key = (str(problem.path), problem.line, problem.reason, problem.severity)
        if key not in seen:
            seen.add(key)
            merged.append(problem)
    return merged
