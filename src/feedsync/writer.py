"""Bytes -> output folder: containment, skip-if-same, atomic replace, stale-file removal."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from feedsync.errors import OutputError

log = logging.getLogger(__name__)

TEMP_PREFIX = ".feedsync-tmp-"
WRITE_THREADS = 8
PARALLEL_WRITES_FROM = 16  # files; fewer are written one after the other
FILE_MODE = 0o644  # mkstemp makes 0600 files; web servers must be able to read feeds


@dataclass(frozen=True, slots=True)
class Outcome:
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]


class _Targets:
    """Resolves output paths, each folder once: what matters is where the folder really is.

    The file itself is only ever replaced or unlinked, never written through, so a symlink in
    its place is swapped out rather than followed.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.root = out_dir.resolve()
        self._folders: dict[str, Path] = {}

    def get(self, relative: str) -> Path:
        folder, _, name = relative.rpartition("/")
        if name in ("", ".", "..") or "\x00" in relative:
            raise OutputError(f"{relative}: refusing to write outside {self.out_dir}")
        parent = self._folders.get(folder)
        if parent is None:
            parent = self._folders[folder] = (self.root / folder).resolve()
        if not parent.is_relative_to(self.root):
            raise OutputError(f"{relative}: refusing to write outside {self.out_dir}")
        return parent / name


def abandoned_temp(name: str) -> bool:
    """A temp file a killed run left behind (not one another live feedsync is writing)."""
    if not name.startswith(TEMP_PREFIX):
        return False
    pid, sep, _ = name[len(TEMP_PREFIX) :].partition("-")
    if not sep or not pid.isdigit() or int(pid) == os.getpid():
        return True  # ours (nothing of ours is in flight while we clean up) or unrecognised
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, ValueError):
        return False
    return False


def leftover(relative: str, ours: Callable[[str], bool]) -> str | None:
    """Whether a file in a managed folder is ours to clean up: "temp" for a temp file a killed
    run left, "ours" for one of our output files (`ours(relative)`, not hidden), else None."""
    name = relative.rpartition("/")[2]
    if name.startswith(TEMP_PREFIX):
        return "temp" if abandoned_temp(name) else None
    if not name.startswith(".") and ours(relative):
        return "ours"
    return None


def write_atomic(target: Path, data: bytes) -> None:
    """Temp file in the same folder, fsync, rename: readers see the old file or the new one."""
    fd, tmp = tempfile.mkstemp(
        dir=target.parent, prefix=f"{TEMP_PREFIX}{os.getpid()}-{target.name}."
    )
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), FILE_MODE)
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def probe(out_dir: Path) -> None:
    """Can files be created in `out_dir` now? The daemon asks when a run had nothing to write,
    so an output folder that became read-only or full shows in its status before it matters."""
    try:
        write_atomic(out_dir / f"{TEMP_PREFIX}{os.getpid()}-probe", b"")
    except OSError as exc:
        raise _error(out_dir, exc) from exc
    try:
        os.unlink(out_dir / f"{TEMP_PREFIX}{os.getpid()}-probe")
    except OSError:
        pass


def _same(target: Path, data: bytes) -> bool:
    """Compare before replacing, so readers polling with ETag/Last-Modified see no churn."""
    try:
        if target.stat().st_size != len(data):
            return False
        return target.read_bytes() == data
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return False


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _error(out_dir: Path, exc: OSError) -> OutputError:
    """The failure as one clause; `generate` adds what a reader finds in the folder."""
    return OutputError(
        f"cannot write to {out_dir}: {exc.strerror or exc}"
        f"{f' ({exc.filename})' if exc.filename else ''}"
    )


def _write(
    out_dir: Path,
    files: Mapping[str, bytes],
    written: list[str],
    unchanged: list[str],
    touched: set[Path],
    last: Iterable[str],
) -> _Targets:
    """Write in a stable order, the files in `last` after the others (and before deletions),
    so a page or list that links to feeds never links to one that is not there yet."""
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = _Targets(out_dir)
    late = set(last)

    def one(relative: str) -> bool:
        target = targets.get(relative)
        data = files[relative]
        if _same(target, data):
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data)
        return True

    # Creating, syncing and renaming files waits on the disk, not the CPU: a few threads
    # overlap those waits. Files in `last` still go only after all the others are in place.
    early = sorted(r for r in files if r not in late)
    batches = [early, sorted(r for r in files if r in late)]
    for batch in batches:
        if len(batch) >= PARALLEL_WRITES_FROM:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(WRITE_THREADS) as pool:
                changed = list(pool.map(one, batch))
        else:
            changed = [one(r) for r in batch]
        for relative, did in zip(batch, changed):
            if did:
                touched.add(targets.get(relative).parent)
                written.append(relative)
            else:
                unchanged.append(relative)
    return targets


def apply(
    out_dir: Path, files: Mapping[str, bytes], deletes: Iterable[str], last: Iterable[str] = ()
) -> Outcome:
    """Write `files` and delete `deletes` (paths relative to `out_dir`); nothing else is looked at.

    The daemon's path: the work is proportional to what changed, not to the output folder.
    """
    written: list[str] = []
    unchanged: list[str] = []
    removed: list[str] = []
    touched: set[Path] = set()
    try:
        targets = _write(out_dir, files, written, unchanged, touched, last)
        for relative in sorted(set(deletes)):
            target = targets.get(relative)
            try:
                target.unlink()
            except FileNotFoundError:
                continue
            touched.add(target.parent)
            removed.append(relative)
        for folder in sorted(touched):
            _fsync_dir(folder)
    except OSError as exc:
        raise _error(out_dir, exc) from exc
    return Outcome(tuple(written), tuple(unchanged), tuple(removed))


def sync(
    out_dir: Path,
    files: Mapping[str, bytes],
    managed: Iterable[str],
    ours: Callable[[str], bool],
    keep: Iterable[str] = (),
    last: Iterable[str] = (),
) -> Outcome:
    """Write `files`, then make the managed folders hold nothing else of ours but `keep`.

    `managed` names folders (relative, "" for the top) whose files `ours(relative path)` says
    belong to feedsync: those neither written nor kept are removed, as are temp files a killed
    run left. Anything else in the folder is left alone.
    """
    written: list[str] = []
    unchanged: list[str] = []
    removed: list[str] = []
    touched: set[Path] = set()
    try:
        targets = _write(out_dir, files, written, unchanged, touched, last)
        wanted = {targets.get(r) for r in (*files, *keep)}
        for name in sorted(set(managed)):
            where = out_dir / name if name else out_dir
            if not where.is_dir() or where.is_symlink():
                continue
            for entry in sorted(where.iterdir()):
                kind = leftover(f"{name}/{entry.name}" if name else entry.name, ours)
                if not entry.is_file() or entry.is_symlink() or kind is None:
                    continue
                stale_temp = kind == "temp"
                if stale_temp or entry.resolve() not in wanted:
                    entry.unlink()
                    touched.add(where)
                    if not stale_temp:
                        removed.append(entry.relative_to(out_dir).as_posix())
        for folder in sorted(touched):
            _fsync_dir(folder)
    except OutputError:
        raise
    except OSError as exc:
        raise _error(out_dir, exc) from exc
    return Outcome(tuple(written), tuple(unchanged), tuple(removed))
