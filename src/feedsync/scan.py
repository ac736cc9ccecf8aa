"""Content folder -> the sorted list of article files to read (what is ignored, and why)."""

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


def discover(content_dir: Path, patterns: Iterable[str], exclude: Iterable[Path] = ()
             ) -> tuple[list[Path], list[Problem]]:
    """Every matching file under `content_dir`, recursively, in a stable order.

    Folder symlinks are not followed (no loops); a file symlink is read only when it points
    inside the content folder. `exclude` keeps an output folder nested in the content out.
    """
    if not content_dir.is_dir():
        what = "is not a folder" if content_dir.exists() else "does not exist"
        raise FeedsyncError(
            f"content folder {content_dir} {what}: pass --content DIR or set content_dir"
        )
    root = content_dir.resolve()
    skip = {p.resolve() for p in exclude}
    patterns = tuple(patterns)
    found: list[Path] = []
    problems: list[Problem] = []

    def _walk_error(exc: OSError) -> None:
        problems.append(Problem(Path(exc.filename or content_dir), None,
                                f"cannot list folder: {exc.strerror or exc}"))

    for folder, dirs, files in os.walk(content_dir, onerror=_walk_error):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (here / d).resolve() not in skip)
        for name in sorted(files):
            if not matches(name, patterns):
                continue
            path = here / name
            if path.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    problems.append(Problem(path, None, "broken or looping symlink; skipped"))
                    continue
                if not target.is_relative_to(root):
                    problems.append(Problem(
                        path, None, "symlink to a file outside the content folder; skipped"))
                    continue
            found.append(path)
    return sorted(found), problems
