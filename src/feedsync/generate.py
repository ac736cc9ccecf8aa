"""The one pipeline: content folder -> articles -> feeds -> bytes on disk -> Report.

`feedsync generate`, `feedsync check` and the daemon all call `run`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from feedsync import reader, render, scan, writer
from feedsync.config import Config
from feedsync.model import Article, Problem, Report, Severity
from feedsync.normalise import normalise
from feedsync.select import Selection, select

log = logging.getLogger(__name__)

Progress = Callable[[Sequence[Path]], Iterable[Path]]
MANAGED_FOLDERS = ("", "topics", "providers")


@dataclass(frozen=True, slots=True)
class Collected:
    files: int
    articles: tuple[Article, ...]
    problems: tuple[Problem, ...]


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


def collect(cfg: Config, progress: Progress | None = None) -> Collected:
    """Every article in the content folder, plus every problem met on the way."""
    paths, problems = scan.discover(cfg.content_dir, cfg.patterns, exclude=[cfg.output_dir])
    articles: list[Article] = []
    owners: dict[str, str] = {}
    for path in progress(paths) if progress else paths:
        try:
            article, found = load_article(path, cfg.content_dir, cfg)
        except Exception as exc:  # the per-file boundary: one bad file never stops the rest
            log.debug("unexpected failure reading %s", path, exc_info=True)
            article, found = None, [Problem(path, None, f"could not be read ({exc!r})")]
        problems.extend(found)
        if article is None:
            continue
        if article.id in owners:
            problems.append(Problem(
                path, None,
                f"id {article.id} is already used by {owners[article.id]}; skipped"
                " (give each article its own 'id')",
            ))
            continue
        owners[article.id] = article.source
        articles.append(article)
    return Collected(len(paths), tuple(articles), tuple(problems))


def render_all(selection: Selection, cfg: Config) -> dict[str, bytes]:
    """Every output file's bytes, keyed by its path relative to the output folder."""
    site = render.Site(cfg.base_url, cfg.site_title, cfg.home_url)
    return {
        render.file_name(feed, fmt): render.render(feed, fmt, site, selection.topic_names)
        for feed in selection.feeds
        for fmt in cfg.formats
    }


def run(cfg: Config, now: datetime, *, write: bool = True, progress: Progress | None = None
        ) -> Report:
    """Read everything, select what is visible at `now`, and (unless `write` is False) write it."""
    found = collect(cfg, progress)
    for problem in found.problems:
        log.log(logging.ERROR if problem.severity is Severity.ERROR else logging.WARNING,
                "%s", problem)
    selection = select(found.articles, now, cfg.max_items)
    for note in selection.notes:
        log.warning("%s", note)
    written: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    if write:
        outcome = writer.sync(
            cfg.output_dir,
            render_all(selection, cfg),
            MANAGED_FOLDERS,
            render.EXTENSIONS.values(),
        )
        written, unchanged, removed = outcome.written, outcome.unchanged, outcome.removed
        for relative in written:
            log.info("wrote %s", relative)
        for relative in removed:
            log.info("removed %s", relative)
    return Report(
        files_read=found.files,
        articles=len(found.articles),
        published=selection.published,
        scheduled=selection.scheduled,
        feeds=len(selection.feeds),
        written=written,
        unchanged=unchanged,
        removed=removed,
        problems=found.problems,
    )
