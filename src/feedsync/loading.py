"""Files -> store rows: one file at a time, or a process pool when a run reads many.

Reading, normalising and rendering are imported where first used: a run that finds nothing
changed needs none of them, and at 10,000 files their imports would be a third of its time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

from feedsync import formats, scan
from feedsync.config import Config
from feedsync.model import Article, Problem
from feedsync.scan import Stamp
from feedsync.store.rows import Row, row_of

if TYPE_CHECKING:
    from feedsync import render

log = logging.getLogger(__name__)

MAX_WORKERS = 8

Loaded = tuple[Path, str, "Stamp | None", "Row | None", tuple[Problem, ...]]


def site_of(cfg: Config) -> formats.Site:
    return formats.Site(
        cfg.base_url,
        cfg.site_title,
        cfg.home_url,
        cfg.websub_hub,
        cfg.icon,
        cfg.image_type,
        cfg.formats,
    )


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


def load_row(
    path: Path, cfg: Config, source: str | None = None, renderer: render.Renderer | None = None
) -> Loaded:
    """One file as the store keeps it; the per-file boundary, so it never raises.

    With a renderer, the article's entries in every configured format that stores them are
    rendered here too (with its own topic spellings, which is what feeds use unless another
    spelling of a topic wins): in a cold run this happens in the worker processes, in parallel.
    """
    stamp = scan.stamp(path)
    if source is None:
        source = path.relative_to(cfg.content_dir).as_posix()
    try:
        article, found = load_article(path, cfg.content_dir, cfg, source)
        row = None
        if article is not None:
            rendered = {}
            if renderer is not None and article.published:
                stored = [f for f in cfg.formats if formats.get(f).stored]
                rendered = renderer.entries(article, stored, article.topics)
            row = row_of(article, rendered)
    except Exception as exc:  # one bad file never stops the rest
        log.debug("unexpected failure reading %s", path, exc_info=True)
        row, found = None, [Problem(path, None, f"could not be read ({exc!r})")]
    return path, source, stamp, row, tuple(found)


class _Worker:
    """What a worker process keeps between chunks: its settings and its own renderer."""

    current: _Worker | None = None  # the one of this worker process

    def __init__(self, cfg: Config) -> None:
        from feedsync import render

        self.cfg = cfg
        self.renderer = render.Renderer(site_of(cfg), cache_size=0)

    @staticmethod
    def start(cfg: Config) -> None:
        _Worker.current = _Worker(cfg)
        logging.getLogger().handlers.clear()  # the parent reports what workers find

    @staticmethod
    def load(items: list[tuple[str, str]]) -> list[Loaded]:
        worker = _Worker.current
        assert worker is not None, "the pool's initializer did not run"
        return [load_row(Path(p), worker.cfg, source, worker.renderer) for p, source in items]


def load_all(
    paths: list[tuple[Path, str]], cfg: Config, parallel: bool, renderer: render.Renderer | None
) -> Generator[Loaded, None, None]:
    """Every file's row, in order; a process pool does the parsing when it pays (`parallel`
    and at least `cfg.parallel_min_files` files; below that, starting workers costs more)."""
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if not parallel or workers < 2 or len(paths) < cfg.parallel_min_files:
        for path, source in paths:
            yield load_row(path, cfg, source, renderer)
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
    log.debug("reading %d files in %d worker processes (%s)", len(paths), workers, method)
    chunks = [
        [(str(p), source) for p, source in paths[i : i + chunk]]
        for i in range(0, len(paths), chunk)
    ]
    pending: deque[Future[list[Loaded]]] = deque()
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_Worker.start, initargs=(cfg,)
    ) as pool:
        try:
            for batch in chunks:
                # A bounded window of chunks in flight: results wait in memory only until the
                # index takes them, so memory does not grow with the folder.
                pending.append(pool.submit(_Worker.load, batch))
                if len(pending) > workers * 3:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
