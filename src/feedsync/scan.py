"""Content folder -> the article files to read: patterns, ignore rules and symlink policy."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from pathlib import Path

from feedsync.errors import FeedsyncError
from feedsync.model import Problem

# Editor swap/backup files and download leftovers: never articles, even if a pattern matches.
_IGNORED_SUFFIXES = (".swp", ".swo", ".swx", ".tmp", ".temp", ".bak", ".orig", ".part", ".crdownload")


def is_ignored(name: str) -> bool:
    """Hidden files, editor temp files (`#x#`, `x~`, `.x.swp`) and backups."""
    return (
        name.startswith((".", "#", "~"))
        or name.endswith("~")
        or name.lower().endswith(_IGNORED_SUFFIXES)
    )


def matches(name: str, patterns: Iterable[str]) -> bool:
    return not is_ignored(name) and any(fnmatch.fnmatch(name, p) for p in patterns)


def require_folder(content_dir: Path) -> None:
    if not content_dir.is_dir():
        what = "is not a folder" if content_dir.exists() else "does not exist"
        raise FeedsyncError(
            f"content folder {content_dir} {what}: pass --content DIR or set content_dir"
        )


def classify(path: Path, root: Path, patterns: Iterable[str], skip: Iterable[Path] = ()
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


def discover(content_dir: Path, patterns: Iterable[str], exclude: Iterable[Path] = (),
             under: Path | None = None) -> tuple[list[Path], list[Problem]]:
    """Every article file under `under` (default: all of `content_dir`), in a stable order.

    Folder symlinks are not followed (no loops). `exclude` keeps an output folder nested in the
    content folder out.
    """
    require_folder(content_dir)
    patterns = tuple(patterns)
    skip = tuple(p.absolute() for p in exclude)
    found: list[Path] = []
    problems: list[Problem] = []

    def _walk_error(exc: OSError) -> None:
        if under is not None and exc.filename == str(under):
            return  # a folder the watcher reported has gone again: nothing to read
        problems.append(Problem(Path(exc.filename or content_dir), None,
                                f"cannot list folder: {exc.strerror or exc}"))

    for folder, dirs, files in os.walk(under or content_dir, onerror=_walk_error):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            verdict = classify(here / name, content_dir, patterns, skip)
            if isinstance(verdict, Problem):
                problems.append(verdict)
            elif verdict:
                found.append(here / name)
    return sorted(found), problems
