"""The one pipeline: changes -> membership -> select -> render -> write plan -> Report.

Every command runs the same `run` over a State whose index is either the cache file (what
`generate` and the daemon use) or private to the process (`check`, `--no-cache`, tests). Only
feeds whose fingerprint changed are rendered and only files whose bytes changed are written,
so the work of a run follows what changed, not the size of the folder. Each stage is a module
of its own; this one only puts them in order:

    changes     which files changed, put into the store (which feeds' membership changed)
    outputs     which feeds exist now and where their files go; what is on disk
    select      what each changed feed shows now (its fingerprint says if it changed)
    render      the bytes of each feed that changed, in every configured format
    discovery   index.html and feeds.opml, when a listing changed
    writeplan   writing it all, and removing what no feed wants
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from feedsync import archive, formats, model, outputs, scan, select, store, tombstones
from feedsync.changes import Changes, Interrupted, Progress
from feedsync.config import Config
from feedsync.errors import OutputError
from feedsync.feedset import FeedSet
from feedsync.loading import site_of
from feedsync.membership import ALL, Ref
from feedsync.model import (
    INDEX_PAGE,
    OPML_FILE,
    STYLESHEET,
    FeedKind,
    Listing,
    Problem,
    Report,
    Severity,
)
from feedsync.scan import Stamp
from feedsync.store import Index
from feedsync.store.rows import Written, encode_listing
from feedsync.writeplan import Output

if TYPE_CHECKING:
    from feedsync import render

__all__ = ["Interrupted", "Progress", "State", "run"]

log = logging.getLogger(__name__)
# Every file written and removed: shown with -v (the daemon's log gets a summary per run).
files_log = logging.getLogger("feedsync.files")


@dataclass
class State:
    """What a process keeps between runs: the index (in memory or the cache file), a renderer."""

    index: Index = field(default_factory=Index)
    renderer: render.Renderer | None = None

    @classmethod
    def open(cls, cfg: Config) -> State:
        """The state kept in the cache file for `cfg`, or a private one when caching is off."""
        return cls(store.open_index(cfg))

    def renderer_for(self, cfg: Config) -> render.Renderer:
        """The renderer for this configuration's site, made on first need."""
        from feedsync import render

        site = site_of(cfg)
        if self.renderer is None or self.renderer.site != site:
            self.renderer = render.Renderer(site)
        return self.renderer

    def close(self) -> None:
        self.index.close()


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
    otherwise only those paths are looked at. `cancel` is polled while reading; when it
    answers True the run stops with `Interrupted` before writing anything. Everything the run
    learns is committed to the index after the files are written, or not at all. `relink`
    (with `changed=None`) says the content folder was replaced: see `Changes.reconcile`.
    """
    state = state if state is not None else State()
    state.index = store.begin(state.index)
    try:
        try:
            report = _run(cfg, now, state, changed, write, progress, cancel, parallel, relink)
        except sqlite3.DatabaseError as exc:  # the cache file is damaged: never fatal
            state.index = store.damaged(state.index, exc)
            report = _run(cfg, now, state, None, write, progress, cancel, parallel, False)
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
    relink: bool,
) -> Report:
    phases = _Phases()
    index = state.index
    stored_now = index.meta("last_now")
    last_now = datetime.fromisoformat(str(stored_now)) if stored_now is not None else None
    fresh = last_now is None  # this index has never written the output: do everything
    full = changed is None

    # changes: what the content folder holds now, into the store
    index.bulk = fresh
    index.fixed.clear()
    index.left.clear()
    index.touched.clear()
    index.relabelled = False
    work = Changes(cfg, index, lambda: state.renderer_for(cfg), cancel)
    if changed is None:
        work.reconcile(progress, parallel, relink)
    else:
        for path in sorted(set(changed)):
            work.refresh(path)
    work.settle()
    index.bulk = False
    # A full walk reports every current problem, also those of files it did not need to re-read.
    problems = _merge(work.problems, index.errors()) if full else work.problems
    _log(cfg, problems, index.fixed)

    # outputs: which feeds may have changed, which exist, where their files go
    written_feeds = index.feeds()
    feeds = cfg.feeds
    lifetime = cfg.tombstone_days * tombstones.DAY
    dirty = set(work.dirty)
    settings = f"{feeds.digest} {cfg.tombstone_days} {cfg.archives}"
    replan = fresh or index.meta("feedset") != settings  # the feed settings changed
    embargoed: set[Ref] = set()  # feeds an embargo ended in: their archives are looked at whole
    if replan:
        dirty |= index.refs() | set(written_feeds) | {ALL} | feeds.customs_of(index.refs())
    else:
        assert last_now is not None
        embargoed = index.due_between(last_now, now)
        dirty |= embargoed
        dirty |= index.expiring(last_now.timestamp(), now.timestamp(), lifetime)
    if write and last_now is not None and lifetime:
        _bury(index, feeds, tombstones.departed(index.left, last_now, now), now)
    dirty |= feeds.customs_of(dirty)
    if full and (warnings := feeds.unknown(_keys(index.refs()))):
        for warning in warnings:
            log.warning("warning: %s (check its spelling)", warning)
    paths, moved = _feed_paths(index, feeds, written_feeds, now, fresh, replan, dirty)
    dirty |= moved
    on_disk: dict[str, Stamp] = {}
    force: set[Ref] = set()  # feeds whose files were changed or removed behind our back
    listings_touched = False
    if write and full:  # a full walk also puts right what others did to the output folder
        on_disk, recorded = outputs.on_disk(cfg.output_dir), index.outputs()
        force = {
            ref
            for ref, path in paths.items()
            if any(
                outputs.touched(formats.file_name(path, f), on_disk, recorded) for f in cfg.formats
            )
        }
        listings_touched = any(outputs.touched(n, on_disk, recorded) for n in outputs.LISTINGS)
        dirty |= force
    phases.mark("read")

    # select: what each feed that may have changed shows now
    plans: dict[Ref, select.Plan] = {}
    # Each planned feed's archive documents that may have changed, and the months it has.
    shelves: dict[Ref, tuple[list[archive.Page], list[str]]] = {}
    whole = replan or index.relabelled or bool(embargoed)  # else only the months edits touched
    for ref in dirty:
        if ref not in paths:
            continue
        parts = feeds.parts(ref)
        every = None  # the feed's whole history, when its archives are looked at whole
        if cfg.archives and (whole or ref in moved or ref in force):
            every = select.shown(index.union_members(parts), now, None)
            shown, total = every[: cfg.max_items], len(every)  # read once: the newest lead it
        else:
            shown = select.shown(index.union_members(parts), now, cfg.max_items)
            total = index.union_count(parts, now)
        plan = select.plan(
            ref,
            index.name(ref) if ref[0] is not FeedKind.CUSTOM else "",
            paths[ref],
            shown,
            index.topic_name,
            total,
            feeds.titling(ref),
            _stones(index, feeds, ref, now, lifetime, write),
        )
        if cfg.archives:
            stored = index.archives(ref)
            if every is None and stored.get("", ("", b""))[1] != _archive_head(plan):
                every = select.shown(index.union_members(parts), now, None)  # a new shared head
            if every is not None:
                pages = archive.pages(paths[ref], archive.partition(every))
                shelves[ref] = (pages, [page.name for page in pages])
            else:
                shelves[ref] = _touched_months(index, stored, parts, paths[ref], now)
            names = tuple(archive.path(paths[ref], n) for n in shelves[ref][1])
            history = model.History(prev=names[0] if names else None, archives=names)
            plan = dataclasses.replace(plan, history=history)
        plans[ref] = plan
    phases.mark("plan")

    written: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    if write:
        output = Output(cfg.output_dir)
        stale = {
            ref
            for ref, new in plans.items()
            if (old := written_feeds.get(ref)) is None
            or old.fingerprint != new.fingerprint
            or old.path != new.path
            or ref in force
        }
        to_render = sorted(plans[ref].path for ref in stale)
        try:
            # render: the feeds that changed, then the listings; writeplan: all of it
            deletes, listing_changed = _render(
                cfg, state, dirty, plans, stale, written_feeds, output
            )
            shelved = _shelve(cfg, state, dirty, plans, shelves, force, output)
            if fresh or listing_changed or listings_touched:
                _listings(cfg, index.listings(), output)
            desired = {formats.file_name(p, f) for p in paths.values() for f in cfg.formats}
            desired |= {
                formats.file_name(p, f)
                for p in index.archive_paths()
                for f in archive.FORMATS
                if f in cfg.formats
            }
            if fresh:
                outcome = output.finish_fresh(desired)
            elif full:
                outcome = output.finish_full(desired, on_disk, shelved)
            else:
                outcome = output.finish(deletes | shelved)
        except OutputError as exc:
            raise _not_written(exc, cfg, to_render, output.present(), fresh) from exc
        phases.mark("write")
        written, unchanged, removed = outcome.written, outcome.unchanged, outcome.removed
        stamps: dict[str, Stamp | None] = {name: None for name in (*removed, *deletes, *shelved)}
        for name in (*written, *unchanged):
            stamps[name] = scan.stamp(cfg.output_dir / name)
        index.set_outputs(stamps)
        if full:  # every other file we own is already as it should be
            unchanged = tuple(sorted((desired | set(outputs.LISTINGS)) - set(written)))
        for relative in written:
            files_log.info("wrote %s", relative, extra={"path": relative})
        for relative in removed:
            files_log.info("removed %s", relative, extra={"path": relative})
        index.set_meta("last_now", now.isoformat())
        index.set_meta("feedset", settings)

    published, scheduled = index.counts(now)
    due = min(
        (
            t
            for t in (index.next_due(now), index.next_expiry(now.timestamp(), lifetime))
            if t is not None
        ),
        default=None,
    )
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
        next_due=datetime.fromtimestamp(due, timezone.utc) if due is not None else None,
    )


def _render(
    cfg: Config,
    state: State,
    dirty: set[Ref],
    plans: Mapping[Ref, select.Plan],
    stale: set[Ref],
    written: Mapping[Ref, Written],
    output: Output,
) -> tuple[set[str], bool]:
    """Render every stale feed into `output` and record it as written; forget feeds that
    went. Returns the files of feeds that went or moved, and whether any listing changed."""
    index = state.index
    deletes: set[str] = set()
    listing_changed = False
    for ref in sorted(dirty, key=lambda r: (r[0].value, r[1])):
        old, new = written.get(ref), plans.get(ref)
        if old is not None and (new is None or old.path != new.path):
            deletes.update(formats.file_name(old.path, f) for f in cfg.formats)
        if new is None:
            if old is not None:
                index.drop_feed(ref)
                listing_changed = True
            continue
        if ref not in stale:
            continue
        feed = select.materialise(new, index.article)
        renderer = state.renderer_for(cfg)
        for fmt in cfg.formats:
            output.add(formats.file_name(feed.path, fmt), renderer.render(feed, fmt, index.entry))
        listing = encode_listing(Listing.of(feed, new.total))
        listing_changed = listing_changed or old is None or old.listing != listing
        index.set_feed(ref, new.path, new.fingerprint, listing)
        output.batch_done()
    return deletes, listing_changed


def _archive_head(plan: select.Plan) -> bytes:
    """What every archive document of a feed shares; when it changes, all are rendered."""
    head = (plan.kind.value, plan.key, plan.name, plan.path, plan.link)
    return repr((*head, plan.title, plan.description, plan.icon)).encode("utf-8", "surrogatepass")


def _touched_months(
    index: Index,
    stored_archives: Mapping[str, object],
    parts: Sequence[Ref],
    path: str,
    now: datetime,
) -> tuple[list[archive.Page], list[str]]:
    """An incremental run's archive work for one feed: the months its changes touched (and
    their neighbours, when a month came or went), read by their rank range, not the whole
    history. Returns those pages and every month the feed now has, newest first."""
    stored = sorted((name for name in stored_archives if name), reverse=True)
    ranks = set().union(*(index.touched.get(p, set()) for p in parts))
    months = {archive.period_of(r) for r in ranks}
    due = select.bound(now)

    def members(month: str) -> tuple[select.Member, ...]:
        lo, hi = archive.bounds(month)
        return tuple(m for m in index.members_between(parts, lo, hi) if m.rank >= due)

    found = {month: members(month) for month in months}
    after = sorted(
        (set(stored) - {m for m, v in found.items() if not v}) | {m for m, v in found.items() if v},
        reverse=True,
    )
    todo = set(archive.relinked(stored, after, months))
    pages = []
    for i, month in enumerate(after):
        if month in todo:
            older = after[i + 1] if i + 1 < len(after) else None
            newer = after[i - 1] if i else None
            held = found[month] if month in found else members(month)
            pages.append(archive.Page(path, month, held, older, newer))
    return pages, after


def _shelve(
    cfg: Config,
    state: State,
    dirty: set[Ref],
    plans: Mapping[Ref, select.Plan],
    shelves: Mapping[Ref, tuple[list[archive.Page], list[str]]],
    force: set[Ref],
    output: Output,
) -> set[str]:
    """Render every archive document whose content or links changed, of the feeds that may
    have changed; returns the files of archive documents that went (their period emptied,
    their feed went, or archives were turned off)."""
    index = state.index
    gone: set[str] = set()
    wanted = [f for f in archive.FORMATS if f in cfg.formats]
    # With archives off, every feed that still has some must lose them.
    refs = dirty if cfg.archives else dirty | index.archived_refs()
    for ref in sorted(refs, key=str):
        stored = index.archives(ref)
        plan = plans.get(ref)
        pages, months = shelves.get(ref, ([], [])) if plan is not None else ([], [])
        current = {name: archive.path(plan.path, name) for name in months} if plan else {}
        for name, (path, _) in stored.items():
            if not name:  # the feed's shared head, kept while it has archives
                if not pages and not months:
                    index.drop_archive(ref, name)
                continue
            if current.get(name) != path:  # its period emptied, or its feed moved
                gone.update(formats.file_name(path, f) for f in wanted)
                index.drop_archive(ref, name)
        if plan is None or not pages:
            continue
        head = _archive_head(plan)
        index.set_archive(ref, "", "", head)  # what every archive of the feed shares
        renderer = state.renderer_for(cfg)
        for page in pages:
            # Its categories are named for its own members' topics, not the newest items'.
            topics = {k for m in page.members for k in m.topics}
            labels = tuple(sorted((k, index.topic_name(k)) for k in topics))
            fingerprint = page.fingerprint(head + repr(labels).encode("utf-8", "surrogatepass"))
            old = stored.get(page.name)
            if old is not None and old == (page.path, fingerprint) and ref not in force:
                continue
            feed = select.materialise(
                dataclasses.replace(
                    plan,
                    path=page.path,
                    members=page.members,
                    total=len(page.members),
                    labels=labels,
                    tombstones=(),
                    history=model.History(
                        prev=archive.path(plan.path, page.older) if page.older else None,
                        next=archive.path(plan.path, page.newer) if page.newer else None,
                        current=plan.path,
                    ),
                ),
                index.article,
            )
            for fmt in wanted:
                output.add(
                    formats.file_name(page.path, fmt), renderer.render(feed, fmt, index.entry)
                )
            index.set_archive(ref, page.name, page.path, fingerprint)
            output.batch_done()
    return {name for name in gone if not output.has(name)}


def _listings(cfg: Config, listings: list[Listing], output: Output) -> None:
    from feedsync import discovery

    site = site_of(cfg)
    output.add(STYLESHEET, discovery.STYLESHEET_CSS.encode("utf-8"))
    output.add(INDEX_PAGE, discovery.index_html(listings, site, cfg.formats))
    output.add(OPML_FILE, discovery.opml(listings, site, cfg.formats))


def _feed_paths(
    index: Index,
    feeds: FeedSet,
    written: Mapping[Ref, Written],
    now: datetime,
    fresh: bool,
    replan: bool,
    dirty: set[Ref],
) -> tuple[dict[Ref, str], set[Ref]]:
    """Every feed that exists at `now` and its path, and the feeds whose path changed.

    A feed exists when it has something to show and the feed settings let it (`feedset`).
    A fresh index or new settings ask about every feed; otherwise only the dirty feeds can
    have appeared or gone, and slugs stay as written unless the set changed.
    """
    before = {ref: w.path for ref, w in written.items()}
    keys: dict[FeedKind, set[str]] = {kind: set() for kind in outputs.FOLDERS}
    candidates: set[Ref] = set(dirty)
    if replan:
        visible = index.existing(now)
        candidates = {(kind, key) for kind, found in visible.items() for key in found}
        candidates |= {(FeedKind.CUSTOM, c.slug) for c in feeds.custom}
    else:
        for kind, key in written:
            if kind is not FeedKind.ALL:
                keys[kind].add(key)
    for ref in candidates:
        if ref[0] is FeedKind.ALL:
            continue
        if _exists(index, feeds, ref, now):
            keys[ref[0]].add(ref[1])
        else:
            keys[ref[0]].discard(ref[1])
    return outputs.reassign(before, keys, always=fresh)


def _bury(index: Index, feeds: FeedSet, gone: list[tuple[Ref, str]], now: datetime) -> None:
    """Tombstones for the articles that left feeds: in the feed they left, unless the id is
    still out there (another file holds it now), and in the custom feeds that lost it too."""
    since = float(int(now.timestamp()))  # whole seconds: `when` is written in them
    for ref, id_ in gone:
        if index.visible_ids([ref], [id_], now):
            continue
        index.add_tombstone(ref, id_, since)
        for custom in feeds.customs_of([ref]):
            if not index.visible_ids(feeds.parts(custom), [id_], now):
                index.add_tombstone(custom, id_, since)


def _stones(
    index: Index, feeds: FeedSet, ref: Ref, now: datetime, lifetime: float, write: bool
) -> tuple[tuple[str, float], ...]:
    """The feed's tombstones at `now`; those whose article is back are forgotten."""
    if not lifetime:
        return ()
    stones = index.tombstones(ref, now.timestamp() - lifetime)
    back = index.visible_ids(feeds.parts(ref), [i for i, _ in stones], now)
    if back and write:
        index.drop_tombstones(ref, sorted(back))
    return tombstones.shown(stones, back)


def _exists(index: Index, feeds: FeedSet, ref: Ref, now: datetime) -> bool:
    """Does this feed have something to show at `now`, and do the settings want it?"""
    if ref[0] is FeedKind.CUSTOM:
        return index.union_count(feeds.parts(ref), now) > 0
    least = feeds.rules(ref[0]).min_articles
    if least <= 1:
        return feeds.qualifies(ref, 1) and index.has_visible(ref, now)
    return feeds.qualifies(ref, index.published_count(ref, now))


def _keys(refs: Iterable[Ref]) -> dict[FeedKind, set[str]]:
    """Feed keys by kind: what the content has, for the settings' typo warnings."""
    found: dict[FeedKind, set[str]] = {}
    for kind, key in refs:
        found.setdefault(kind, set()).add(key)
    return found


def _log(cfg: Config, problems: Iterable[Problem], fixed: Iterable[str]) -> None:
    for problem in problems:
        level = logging.ERROR if problem.severity is Severity.ERROR else logging.WARNING
        log.log(level, "%s", problem, extra={"path": str(problem.path), "line": problem.line})
    for source in fixed:
        path = str(cfg.content_dir / source)
        log.info("%s: fixed, no longer in error", path, extra={"path": path})


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
