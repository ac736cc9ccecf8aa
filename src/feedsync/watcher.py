"""watchdog adapter: report which paths under the content folder changed, nothing more.

The handler runs on watchdog's observer thread, so it only records the path and returns; the
daemon does the work on its own thread. A moved event reports both ends, because editors save
by writing a temporary name and renaming it over the article.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import (
    EVENT_TYPE_CLOSED_NO_WRITE,
    EVENT_TYPE_OPENED,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from feedsync.writer import TEMP_PREFIX

log = logging.getLogger(__name__)

# Only changes: watchdog then asks inotify for nothing else. Opens and reads (our own reading
# of 100,000 files on a full run) would otherwise overflow the kernel's event queue, and an
# overflow makes watchdog re-scan the whole tree.
WATCHED_EVENTS = (
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileClosedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
)


class _Recorder(FileSystemEventHandler):
    def __init__(
        self,
        record: Callable[[Path], None],
        folders: tuple[str, ...],
        files: frozenset[str],
        real: str,
        shown: str,
    ) -> None:
        self._record = record
        self._folders = folders
        self._files = files
        self._real = real  # the folder the watch is on (symlinks resolved) ...
        self._shown = shown  # ... and the path the daemon knows it by

    def _keep(self, raw: str | bytes) -> None:
        """Our own writes (output folder, status file, temp files) must not wake us up."""
        path = os.fsdecode(raw)
        if self._real != self._shown and (
            path == self._real or path.startswith(self._real + os.sep)
        ):
            path = self._shown + path[len(self._real) :]
        if (
            not path
            or path.startswith(self._folders)
            or path in self._files
            or os.path.basename(path).startswith(TEMP_PREFIX)
        ):
            return
        self._record(Path(path))

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in (EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE):
            return
        if event.is_directory and event.event_type == "modified":
            return  # a folder's mtime changed because a file in it did; that file reports itself
        self._keep(event.src_path)
        dest = getattr(event, "dest_path", "")
        if dest:
            self._keep(dest)


Identity = tuple[str, int, int]  # (real path, st_dev, st_ino) of the folder a path leads to


def identity(folder: Path) -> Identity | None:
    """Which folder `folder` is now (following symlinks on its path), None when there is none.

    inotify watches inodes, so a folder renamed away or a symlink switched to another release
    leaves the watch on the old one: comparing this on a timer tells the daemon to move.
    """
    try:
        real = os.path.realpath(folder)
        st = os.stat(real)
    except OSError:
        return None
    if not os.path.isdir(real):
        return None
    return (real, st.st_dev, st.st_ino)


class Watcher:
    """Watches one folder recursively; re-armed by the daemon if the watch dies."""

    def __init__(
        self,
        root: Path,
        record: Callable[[Path], None],
        *,
        mode: str = "auto",
        poll_seconds: float = 1.0,
        ignore_folders: Iterable[Path] = (),
        ignore_files: Iterable[Path] = (),
    ) -> None:
        self.root = root
        self.mode = mode
        self.poll_seconds = poll_seconds
        self.kind = ""
        self.fallback: str | None = None  # why native watching could not start (auto mode)
        self.watching: Identity | None = None
        self._record = record
        self._folders = tuple(str(p.absolute()) + os.sep for p in ignore_folders)
        self._files = frozenset(str(p.absolute()) for p in ignore_files)
        self._observer: BaseObserver | None = None

    def _make(self, polling: bool, real: str) -> BaseObserver:
        handler = _Recorder(
            self._record, self._folders, self._files, real, str(self.root.absolute())
        )
        observer = PollingObserver(timeout=self.poll_seconds) if polling else Observer()
        # The watch goes on the real folder: watchdog does not follow a symlink given as the
        # root, and the events are translated back to the path the daemon knows.
        observer.schedule(handler, real, recursive=True, event_filter=list(WATCHED_EVENTS))
        observer.start()
        return observer

    def start(self) -> None:
        """Start native watching, falling back to polling (with a warning) in `auto` mode."""
        found = identity(self.root)
        if found is None:
            raise FileNotFoundError(2, "No such folder", str(self.root))
        self.watching = found
        if self.mode == "polling":
            self._observer, self.kind = self._make(True, found[0]), "polling"
            return
        try:
            self._observer, self.kind = self._make(False, found[0]), "native"
        except OSError as exc:
            if self.mode == "native":
                raise
            self.fallback = f"native watching unavailable ({exc.strerror or exc})"
            log.warning(
                "native file watching is unavailable (%s); polling every %ss instead."
                " Raise fs.inotify.max_user_watches to watch natively.",
                exc.strerror or exc,
                self.poll_seconds,
            )
            self._observer, self.kind = self._make(True, found[0]), "polling"

    def alive(self) -> bool:
        return self._observer is not None and self._observer.is_alive()

    def healthy(self) -> bool:
        """False when the observer died or the folder was replaced (the watch is then blind)."""
        return self.alive() and identity(self.root) == self.watching

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            if observer.is_alive():
                observer.join(timeout=5)
