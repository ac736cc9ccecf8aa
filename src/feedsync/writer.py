"""Bytes -> output folder: containment, skip-if-same, atomic replace, stale-file removal."""

from __future__ import annotations

import ctypes
import functools
import itertools
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from feedsync.errors import OutputError

log = logging.getLogger(__name__)

TEMP_PREFIX = ".feedsync-tmp-"
GROUP_COMMIT_FROM = 16  # files; fewer are each fdatasync'ed rather than syncing the whole disk
SYNC_THREADS = 8  # fdatasync calls in flight where there is no syncfs
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


_serial = itertools.count()


def _temp_for(target: Path) -> tuple[str, int]:
    """A new temp file beside `target`, open for writing: named for this process (so a later
    run can tell an abandoned one from a live one) and created exclusively, never reused."""
    while True:
        tmp = f"{target.parent}/{TEMP_PREFIX}{os.getpid()}-{target.name}.{next(_serial)}"
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        except FileExistsError:  # left by an earlier process with our pid
            continue


def stage(target: Path, data: bytes) -> str:
    """Write `data` to a temp file beside `target` (not yet durable); returns its path.

    The seam every output file goes through: `Staging` makes them durable together and
    renames them into place, so readers see the old file or the new one."""
    tmp, fd = _temp_for(target)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            os.fchmod(f.fileno(), FILE_MODE)  # whatever the umask: web servers must read it
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def write_atomic(target: Path, data: bytes) -> None:
    """One file on its own: temp file in the same folder, fsync, rename."""
    tmp = stage(target, data)
    try:
        _datasync(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _datasync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


def _syncfs(folder: Path) -> bool:
    """Flush the whole file system `folder` is on (Linux `syncfs`): one call instead of an
    fsync per file. False where the call does not exist; raises what it reports."""
    libc = _libc()
    if libc is None:
        return False
    fd = os.open(folder, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(folder))
    finally:
        os.close(fd)
    return True


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syncfs  # noqa: B018  (present on Linux only)
    except (OSError, AttributeError):
        return None
    return libc


class Staging:
    """A run's files on their way in, published together (group commit).

    `add` compares each file with what is there and writes the changed ones to temp files
    beside their targets; `publish` makes all of them durable at once (one `syncfs` on Linux,
    else an fdatasync each, a few at a time), renames them into place (the `last` ones after
    all the others) and fsyncs each folder once. Every file stays atomic and durable, at a
    fraction of a per-file fsync's cost. On failure, `discard` removes the temp files.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.targets: _Targets | None = None
        self._made: set[Path] = set()  # folders known to exist
        self._new: set[Path] = set()  # of those, the ones this run created
        self._early: list[tuple[str, Path]] = []
        self._late: list[tuple[str, Path]] = []
        self.touched: set[Path] = set()
        self.landed = False  # every staged file is in place

    def resolve(self) -> _Targets:
        if self.targets is None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.targets = _Targets(self.out_dir)
        return self.targets

    def add(
        self, files: Mapping[str, bytes], last: Iterable[str] = ()
    ) -> tuple[list[str], list[str]]:
        """Stage the files whose bytes differ from what is there, in a stable order, the ones
        in `last` to be renamed after all others. Returns (changed, unchanged) names."""
        targets = self.resolve()
        late = set(last)
        written: list[str] = []
        unchanged: list[str] = []
        for relative in sorted(files, key=lambda r: (r in late, r)):
            target = targets.get(relative)
            data = files[relative]
            folder = target.parent
            if folder not in self._made:
                try:
                    folder.mkdir(parents=True)
                    self._new.add(folder)  # empty: nothing in it to compare with
                except FileExistsError:
                    pass
                self._made.add(folder)
            if folder not in self._new and _same(target, data):
                unchanged.append(relative)
                continue
            tmp = stage(target, data)
            (self._late if relative in late else self._early).append((tmp, target))
            written.append(relative)
        return written, unchanged

    def publish(self) -> None:
        """Make every staged file durable, then rename each into place (early, then late)."""
        pending = [*self._early, *self._late]
        if not pending:
            self.landed = True
            return
        if len(pending) < GROUP_COMMIT_FROM:
            for tmp, _ in pending:
                _datasync(tmp)
        elif not _syncfs(self.out_dir):
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(SYNC_THREADS) as pool:
                list(pool.map(_datasync, (tmp for tmp, _ in pending)))
        self._early, self._late = pending, []  # what `discard` still has to remove
        for done, (tmp, target) in enumerate(pending):
            try:
                os.replace(tmp, target)
            except BaseException:
                del pending[:done]
                raise
            self.touched.add(target.parent)
        pending.clear()
        self.landed = True
        self.sync_folders()

    def sync_folders(self) -> None:
        for folder in sorted(self.touched):
            _fsync_dir(folder)
        self.touched.clear()

    def discard(self) -> None:
        """Remove every temp file not yet renamed: a failed run leaves nothing behind."""
        for tmp, _ in (*self._early, *self._late):
            try:
                os.unlink(tmp)
            except OSError:
                pass
        self._early.clear()
        self._late.clear()


def probe(out_dir: Path) -> None:
    """Can files be created in `out_dir` now? The daemon asks when a run had nothing to write,
    so an output folder that became read-only or full shows in its status before it matters."""
    try:
        write_atomic(out_dir / f"{TEMP_PREFIX}{os.getpid()}-probe", b"")
    except OSError as exc:
        raise error(out_dir, exc) from exc
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


def error(out_dir: Path, exc: OSError) -> OutputError:
    """The failure as one clause; `generate` adds what a reader finds in the folder."""
    return OutputError(
        f"cannot write to {out_dir}: {exc.strerror or exc}"
        f"{f' ({exc.filename})' if exc.filename else ''}"
    )


def apply(
    out_dir: Path,
    files: Mapping[str, bytes],
    deletes: Iterable[str],
    last: Iterable[str] = (),
    staging: Staging | None = None,
) -> Outcome:
    """Write `files` and delete `deletes` (paths relative to `out_dir`); nothing else is looked at.

    The daemon's path: the work is proportional to what changed, not to the output folder.
    `staging` holds files staged earlier in the same run: they are published with these.
    """
    staging = staging if staging is not None else Staging(out_dir)
    removed: list[str] = []
    try:
        written, unchanged = staging.add(files, last)
        staging.publish()
        targets = staging.resolve()
        for relative in sorted(set(deletes)):
            target = targets.get(relative)
            try:
                target.unlink()
            except FileNotFoundError:
                continue
            staging.touched.add(target.parent)
            removed.append(relative)
        staging.sync_folders()
    except OutputError:
        staging.discard()
        raise
    except OSError as exc:
        staging.discard()
        raise error(out_dir, exc) from exc
    return Outcome(tuple(written), tuple(unchanged), tuple(removed))


def sync(
    out_dir: Path,
    files: Mapping[str, bytes],
    managed: Iterable[str],
    ours: Callable[[str], bool],
    keep: Iterable[str] = (),
    last: Iterable[str] = (),
    staging: Staging | None = None,
) -> Outcome:
    """Write `files`, then make the managed folders hold nothing else of ours but `keep`.

    `managed` names folders (relative, "" for the top) whose files `ours(relative path)` says
    belong to feedsync: those neither written nor kept are removed, as are temp files a killed
    run left. Anything else in the folder is left alone.
    """
    staging = staging if staging is not None else Staging(out_dir)
    removed: list[str] = []
    try:
        written, unchanged = staging.add(files, last)
        staging.publish()
        targets = staging.resolve()
        wanted = {targets.get(r) for r in (*files, *keep)}
        for name in sorted(set(managed)):
            where = out_dir / name if name else out_dir
            if not where.is_dir() or where.is_symlink():
                continue
            real = where.resolve()
            with os.scandir(where) as found:
                entries = sorted(found, key=lambda e: e.name)
            for entry in entries:
                kind = leftover(f"{name}/{entry.name}" if name else entry.name, ours)
                if kind is None or not entry.is_file(follow_symlinks=False):
                    continue
                stale_temp = kind == "temp"
                if stale_temp or real / entry.name not in wanted:
                    os.unlink(entry.path)
                    staging.touched.add(where)
                    if not stale_temp:
                        removed.append(f"{name}/{entry.name}" if name else entry.name)
        staging.sync_folders()
    except OutputError:
        staging.discard()
        raise
    except OSError as exc:
        staging.discard()
        raise error(out_dir, exc) from exc
    return Outcome(tuple(written), tuple(unchanged), tuple(removed))
