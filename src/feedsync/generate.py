"""The one pipeline: files -> articles -> feeds -> bytes on disk -> Report.

`feedsync generate` and `feedsync check` call `run` once with a fresh State; the daemon keeps
its State and calls `run` with only the paths that changed, so an edit re-reads one file and
re-renders only the feeds whose visible content changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from feedsync import discovery, reader, render, scan, select, writer
from feedsync.config import Config
from feedsync.index import ALL, Index, Ref, Stamp
from feedsync.model import Article, Feed, FeedKind, Problem, Report, Severity
from feedsync.normalise import normalise

log = logging.getLogger(__name__)

Progress = Callable[[Sequence[Path]], Iterable[Path]]
MANAGED_FOLDERS = ("", *select.FOLDERS.values())
LISTINGS = (discovery.INDEX, discovery.OPML)  # written after the feeds they link to


class Interrupted(Exception):
    """A run was cancelled (the daemon is stopping) before it wrote anything."""


@dataclass
class State:
    """What one process remembers between runs: the index and what it last wrote."""

    index: Index = field(default_factory=Index)
    paths: dict[Ref, str] = field(default_factory=lambda: {ALL: "all"})
    keys: dict[FeedKind, set[str]] = field(default_factory=dict)
    written: dict[Ref, Feed] = field(default_factory=dict)
    pending: set[Ref] = field(default_factory=set)  # dirty feeds a failed write left behind
    renderer: render.Renderer | None = None
    last_now: datetime | None = None


def load_article(path: Path, content_dir: Path, cfg: Config) -> tuple[Article | None, list[Problem]]:
    """Read, parse and normalise one file; its problems never stop the others."""
    data = reader.read_file(path, cfg.max_file_bytes)
    if isinstance(data, Problem):
        return None, [data]
    fm = reader.parse(data, path)
    if isinstance(fm, Problem):
        return None, [fm]
    source = path.relative_to(content_dir).as_posix()
    return normalise(fm, path, source, cfg.max_field_chars)


def _stamp(path: Path) -> Stamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class _Run:
    """The work of one call to `run`: which files were read, which feeds may have changed."""

    def __init__(self, cfg: Config, state: State, cancel: Callable[[], bool] | None) -> None:
        self.cfg = cfg
        self.cancel = cancel
        self.state = state
        self.index = state.index
        self.dirty: set[Ref] = set()
        self.read = 0
        self.problems: list[Problem] = []
        self.skip = [cfg.output_dir]

    def source(self, path: Path) -> str:
        return path.relative_to(self.cfg.content_dir).as_posix()

    def load(self, path: Path) -> None:
        stamp = _stamp(path)
        try:
            article, found = load_article(path, self.cfg.content_dir, self.cfg)
        except Exception as exc:  # the per-file boundary: one bad file never stops the rest
            log.debug("unexpected failure reading %s", path, exc_info=True)
            article, found = None, [Problem(path, None, f"could not be read ({exc!r})")]
        self.read += 1
        dirty, conflict = self.index.set_record(self.source(path), path, stamp, article,
                                                tuple(found))
        self.dirty |= dirty
        self.problems.extend(found)
        if conflict is not None:
            self.problems.append(conflict)

    def forget(self, source: str) -> None:
        self.dirty |= self.index.forget(source)

    def reconcile(self, progress: Progress | None) -> None:
        """Walk the whole folder; re-read files that are new, changed or still in error."""
        paths, problems = scan.discover(self.cfg.content_dir, self.cfg.patterns, self.skip)
        self.problems.extend(problems)
        seen = {self.source(p) for p in paths}
        for source in sorted(set(self.index.records) - seen):
            self.forget(source)
        for path in progress(paths) if progress else paths:
            if self.cancel is not None and self.cancel():
                raise Interrupted
            record = self.index.records.get(self.source(path))
            if record is None or record.stamp != _stamp(path) or any(
                    p.severity is Severity.ERROR for p in record.problems):
                self.load(path)

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


def _missing(cfg: Config, feed: Feed) -> bool:
    return not all((cfg.output_dir / render.file_name(feed, f)).is_file() for f in cfg.formats)


def _log(problems: Iterable[Problem]) -> None:
    for problem in problems:
        level = logging.ERROR if problem.severity is Severity.ERROR else logging.WARNING
        log.log(level, "%s", problem)


def _update_paths(state: State, now: datetime, full: bool, dirty: set[Ref]) -> set[Ref]:
    """Recompute which topic/provider feeds exist; reassign slugs only when that set changes."""
    index = state.index
    if full:
        keys = select.existing(index, now)
    else:
        keys = {kind: set(state.keys.get(kind, ())) for kind in select.FOLDERS}
        for kind, key in dirty:
            if kind is FeedKind.ALL:
                continue
            if index.has_visible((kind, key), now):
                keys[kind].add(key)
            else:
                keys[kind].discard(key)
    if keys == state.keys and not full:
        return set()
    paths, notes = select.paths(keys)
    moved = {ref for ref in set(paths) | set(state.paths) if paths.get(ref) != state.paths.get(ref)}
    if moved or state.last_now is None:
        for note in notes:
            log.warning("%s", note)
    state.keys, state.paths = keys, paths
    return moved


def run(cfg: Config, now: datetime, *, state: State | None = None,
        changed: Iterable[Path] | None = None, write: bool = True,
        progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> Report:
    """Bring the output folder in step with the content folder as seen at `now`.

    `changed=None` walks the whole content folder (one-shot runs, the daemon's start and its
    periodic reconcile); otherwise only those paths are looked at. Only feeds whose content
    changed are rendered; only files whose bytes changed are written. `cancel` is polled while
    reading; when it answers True the run stops with `Interrupted` before writing anything.
    """
    state = state if state is not None else State()
    work = _Run(cfg, state, cancel)
    full = changed is None
    if changed is None:
        work.reconcile(progress)
    else:
        for path in sorted(set(changed)):
            work.refresh(path)
    _log(work.problems)

    index = state.index
    dirty = work.dirty | state.pending
    if full or state.last_now is None:
        dirty |= set(index.members) | set(state.written) | {ALL}
    else:
        dirty |= index.due_between(state.last_now, now)
    dirty |= _update_paths(state, now, full, dirty)

    feeds: dict[Ref, Feed] = {}
    for ref in dirty:
        feed_path = state.paths.get(ref)
        if feed_path is not None:
            feeds[ref] = select.build(index, ref, feed_path, now, cfg.max_items)

    written: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    if write:
        state.pending |= dirty  # until written: a failed write is retried by the next run
        site = render.Site(cfg.base_url, cfg.site_title, cfg.home_url, cfg.websub_hub)
        if state.renderer is None or state.renderer.site != site:
            state.renderer = render.Renderer(site)
        files: dict[str, bytes] = {}
        deletes: set[str] = set()
        for ref in sorted(dirty, key=lambda r: (r[0].value, r[1])):
            old, new = state.written.get(ref), feeds.get(ref)
            if old is not None and (new is None or old.path != new.path):
                deletes.update(old.path + render.EXTENSIONS[f] for f in cfg.formats)
            if new is not None and (new != old or (full and _missing(cfg, new))):
                for fmt in cfg.formats:
                    files[render.file_name(new, fmt)] = state.renderer.render(new, fmt)
        if full or files or deletes:  # the index page and OPML list every feed
            current = dict(state.written)
            for ref in dirty:
                if ref in feeds:
                    current[ref] = feeds[ref]
                else:
                    current.pop(ref, None)
            files[discovery.INDEX] = discovery.index_html(current.values(), site, cfg.formats)
            files[discovery.OPML] = discovery.opml(current.values(), site, cfg.formats)
        if full:
            desired = {p + render.EXTENSIONS[f] for p in state.paths.values() for f in cfg.formats}
            outcome = writer.sync(cfg.output_dir, files, MANAGED_FOLDERS,
                                  render.EXTENSIONS.values(), keep=desired, last=LISTINGS)
        else:
            outcome = writer.apply(cfg.output_dir, files, deletes - set(files), last=LISTINGS)
        written, unchanged, removed = outcome.written, outcome.unchanged, outcome.removed
        for ref in dirty:
            if ref in feeds:
                state.written[ref] = feeds[ref]
            else:
                state.written.pop(ref, None)
        state.pending.clear()
        for relative in written:
            log.info("wrote %s", relative)
        for relative in removed:
            log.info("removed %s", relative)
    state.last_now = now

    published, scheduled = index.counts(now)
    return Report(
        files_read=work.read,
        articles=index.article_count,
        published=published,
        scheduled=scheduled,
        feeds=len(state.paths),
        written=written,
        unchanged=unchanged,
        removed=removed,
        problems=tuple(work.problems),
        next_due=(datetime.fromtimestamp(due, timezone.utc)
                  if (due := index.next_due(now)) is not None else None),
    )

