"""What changed in the content folder since the store last looked, put into the store.

A full walk compares every file's stamp with the one recorded and re-reads only those that
are new, changed or still in error; the daemon instead passes just the paths the watcher
reported. Either way the store answers which feeds' membership changed (`dirty`), and that is
all the later stages look at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedsync import loading, scan
from feedsync.config import Config
from feedsync.loading import Loaded
from feedsync.membership import Ref
from feedsync.model import Problem
from feedsync.store import Index

if TYPE_CHECKING:
    from feedsync import render

Progress = Callable[[Sequence[Any]], Iterable[Any]]  # ticks once per file read


class Interrupted(Exception):
    """A run was cancelled (the daemon is stopping) before it wrote anything."""


class Changes:
    """One run's reading: which files were read, which feeds may have changed, what was wrong."""

    def __init__(
        self,
        cfg: Config,
        index: Index,
        renderer: Callable[[], render.Renderer],
        cancel: Callable[[], bool] | None,
    ) -> None:
        self.cfg = cfg
        self.index = index
        self.renderer = renderer
        self.cancel = cancel
        self.dirty: set[Ref] = set()
        self.read = 0
        self.problems: list[Problem] = []
        self.skip = [cfg.output_dir]

    def source(self, path: Path) -> str:
        return path.relative_to(self.cfg.content_dir).as_posix()

    def store(self, loaded: Loaded) -> None:
        path, source, stamp, row, found = loaded
        self.read += 1
        dirty, conflicts = self.index.set_record(source, path, stamp, row, found)
        self.dirty |= dirty
        self.problems.extend(found)
        self.problems.extend(conflicts)

    def settle(self) -> None:
        """Read again the files that asked for an id that has since changed hands (its holder
        went, or a file earlier by path took it), so the rule "first by path" holds whichever
        order the files were read in. What was found of them before is replaced."""
        for _ in range(8):  # each pass moves an id to a file earlier by path: few are needed
            again = sorted(self.index.reread)
            self.index.reread.clear()
            if not again:
                return
            paths = {self.cfg.content_dir / source for source in again}
            self.problems = [p for p in self.problems if p.path not in paths]
            for source in again:
                self.refresh(self.cfg.content_dir / source)

    def load(self, path: Path) -> None:
        self.store(loading.load_row(path, self.cfg, renderer=self.renderer()))

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
        renderer = self.renderer() if stale else None
        loaded = loading.load_all(stale, self.cfg, parallel, renderer)
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
