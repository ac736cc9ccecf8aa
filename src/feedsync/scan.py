"""Content folder -> the article files to read: patterns, ignore rules and symlink policy."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Iterable
from pathlib import Path

from feedsync.errors import FeedsyncError
from feedsync.model import Problem

# Editor swap/backup files and download leftovers: never articles, even if a pattern matches.
_IGNORED_SUFFIXES = (
    ".swp",
    ".swo",
    ".swx",
    ".tmp",
    ".temp",
    ".bak",
    ".orig",
    ".part",
    ".crdownload",
)


def is_ignored(name: str) -> bool:
    """Hidden files, editor temp files (`#x#`, `x~`, `.x.swp`) and backups."""
    return (
        name.startswith((".", "#", "~"))
        or name.endswith("~")
        or name.lower().endswith(_IGNORED_SUFFIXES)
    )


def matches(name: str, patterns: Iterable[str]) -> bool:
    return not is_ignored(name) and _pattern(tuple(patterns)).match(name) is not None


@functools.lru_cache(maxsize=16)
def _pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """All patterns as one compiled regex: a walk tests 100,000 names against them."""
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def require_folder(content_dir: Path) -> None:
    if not content_dir.is_dir():
        what = "is not a folder" if content_dir.exists() else "does not exist"
        raise FeedsyncError(
            f"content folder {content_dir} {what}: pass --content DIR or set content_dir"
        )


def classify(
    path: Path, root: Path, patterns: Iterable[str], skip: Iterable[Path] = ()
) -> bool | Problem:
    """Is `path` (under `root`) an article file to read? A Problem says why one is refused.

    Used for single paths from the watcher as well as for walks, so both follow one policy:
    hidden folders, `skip` folders and unmatched names are not articles; a file symlink counts
    only when it points inside the content folder.
    """
    try:
        relative = path.relative_to(root)
    except ValueError:
        return False
    if any(part.startswith(".") for part in relative.parts[:-1]):
        return False
    if not matches(path.name, patterns):
        return False
    folder = root
    for part in relative.parts[:-1]:
        folder = folder / part
        if folder.is_symlink():
            return False  # the walk never goes through a folder symlink: nor does one path
    absolute = path.absolute()
    if any(absolute.is_relative_to(s) for s in skip):
        return False
    if path.is_symlink():
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return Problem(path, None, "broken or looping symlink; skipped")
        if not target.is_relative_to(root.resolve()):
            return Problem(path, None, "symlink to a file outside the content folder; skipped")
        return target.is_file()
    return path.is_file()


Stamp = tuple[int, int, int]  # (mtime_ns, size, inode): has the file changed since we read it?


def stamp_of(st: os.stat_result) -> Stamp:
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def stamp(path: Path | str) -> Stamp | None:
    """The file's stamp now, or None when it cannot be had."""
    try:
        return stamp_of(os.stat(path))
    except OSError:
        return None


def discover(
    content_dir: Path,
    patterns: Iterable[str],
    exclude: Iterable[Path] = (),
    under: Path | None = None,
) -> tuple[list[Path], list[Problem]]:
    """Every article file under `under` (default: all of `content_dir`), in a stable order.

    Folder symlinks are not followed (no loops). `exclude` keeps an output folder nested in the
    content folder out.
    """
    found, problems = walk(content_dir, patterns, exclude, under)
    return [Path(path) for path, _, _ in found], problems


def walk(
    content_dir: Path,
    patterns: Iterable[str],
    exclude: Iterable[Path] = (),
    under: Path | None = None,
) -> tuple[list[tuple[str, str, Stamp | None]], list[Problem]]:
    """`discover` as (path, path relative to `content_dir`, stamp) of each file.

    One `scandir` per folder and one `stat` per file: at 100,000 files a walk is the floor of
    a run that finds nothing changed, so it avoids pathlib in the loop.
    """
    require_folder(content_dir)
    patterns = tuple(patterns)
    accept = _pattern(patterns).match
    skip = tuple(p.absolute() for p in exclude)
    found: list[tuple[str, str, Stamp | None]] = []
    problems: list[Problem] = []
    start = under or content_dir
    try:
        relative = start.relative_to(content_dir).as_posix()
    except ValueError:
        return [], []
    if any(part.startswith(".") for part in Path(relative).parts):
        return [], []
    if any(start.absolute().is_relative_to(s) for s in skip):
        return [], []
    folders = [(str(start), "" if relative == "." else relative + "/")]
    while folders:
        folder, prefix = folders.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)  # the result is sorted once at the end
        except OSError as exc:
            if under is None or folder != str(under):  # a reported folder that has gone again
                problems.append(
                    Problem(
                        Path(exc.filename or folder),
                        None,
                        f"cannot list folder: {exc.strerror or exc}",
                    )
                )
            continue
        subfolders = []
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                if not name.startswith("."):
                    child = entry.path
                    if not any(Path(child).absolute().is_relative_to(s) for s in skip):
                        subfolders.append((child, prefix + name + "/"))
                continue
            if accept(name) is None or is_ignored(name):
                continue
            path = entry.path
            if entry.is_symlink():
                verdict = classify(Path(path), content_dir, patterns, skip)
                if isinstance(verdict, Problem):
                    problems.append(verdict)
                    continue
                if not verdict:
                    continue
            elif not entry.is_file(follow_symlinks=False):
                continue
            try:
                found.append((path, prefix + name, stamp_of(entry.stat())))
            except OSError:
                found.append((path, prefix + name, None))
        folders.extend(reversed(subfolders))
    # The order of Path comparison (part by part): "/" sorts before every character there.
    found.sort(key=lambda item: item[1].replace("/", "\0"))
    return found, problems
