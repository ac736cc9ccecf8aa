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

MODES = ("auto", "native", "polling")
# Only changes: watchdog then asks inotify for nothing else. Opens and reads (our own reading
# of 100,000 files on a full run) would otherwise overflow the kernel's event queue, and an
# overflow makes watchdog re-scan the whole tree.
WATCHED_EVENTS = (FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent,
                  FileClosedEvent, DirCreatedEvent, DirDeletedEvent, DirMovedEvent)


class _Recorder(FileSystemEventHandler):
    def __init__(self, record: Callable[[Path], None], folders: tuple[str, ...],
                 files: frozenset[str]) -> None:
        self._record = record
        self._folders = folders
        self._files = files

    def _keep(self, raw: str | bytes) -> None:
        """Our own writes (output folder, status file, temp files) must not wake us up."""
        path = os.fsdecode(raw)
        if (not path or path.startswith(self._folders) or path in self._files
                or os.path.basename(path).startswith(TEMP_PREFIX)):
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


class Watcher:
    """Watches one folder recursively; re-armed by the daemon if the watch dies."""

    def __init__(self, root: Path, record: Callable[[Path], None], *, mode: str = "auto",
                 poll_seconds: float = 1.0, ignore_folders: Iterable[Path] = (),
                 ignore_files: Iterable[Path] = ()) -> None:
        self.root = root
        self.mode = mode
        self.poll_seconds = poll_seconds
        self.kind = ""
        self._root_id: tuple[int, int] | None = None
        folders = tuple(str(p.absolute()) + os.sep for p in ignore_folders)
        files = frozenset(str(p.absolute()) for p in ignore_files)
        self._handler = _Recorder(record, folders, files)
        self._observer: BaseObserver | None = None

    def _make(self, polling: bool) -> BaseObserver:
        observer = PollingObserver(timeout=self.poll_seconds) if polling else Observer()
        observer.schedule(self._handler, str(self.root.absolute()), recursive=True,
                          event_filter=list(WATCHED_EVENTS))
        observer.start()
        return observer

    def start(self) -> None:
        """Start native watching, falling back to polling (with a warning) in `auto` mode."""
        st = self.root.stat()
        self._root_id = (st.st_dev, st.st_ino)
        if self.mode == "polling":
            self._observer, self.kind = self._make(True), "polling"
            return
        try:
            self._observer, self.kind = self._make(False), "native"
        except OSError as exc:
            if self.mode == "native":
                raise
            log.warning("native file watching is unavailable (%s); polling every %ss instead."
                        " Raise fs.inotify.max_user_watches to watch natively.",
                        exc.strerror or exc, self.poll_seconds)
            self._observer, self.kind = self._make(True), "polling"

    def healthy(self) -> bool:
        """False when the observer died or the folder was replaced (the watch is then blind)."""
        if self._observer is None or not self._observer.is_alive():
            return False
        try:
            st = self.root.stat()
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self._root_id

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            if observer.is_alive():
                observer.join(timeout=5)
