"""Where each feed's files live in the output folder, and what is there now.

A feed's path is its kind's folder and a slug of its key (`topics/ai`, `providers/heise`,
`all`); slugs are assigned over the whole set of feeds (collisions get a suffix), so they are
reassigned only when that set changes. The stamps of the files in the folders we manage tell
a full run which files were changed or removed behind our back.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from feedsync import formats, slug
from feedsync.membership import ALL, Ref
from feedsync.model import INDEX_PAGE, OPML_FILE, STYLESHEET, FeedKind
from feedsync.scan import Stamp, stamp_of

log = logging.getLogger(__name__)

FOLDERS = {FeedKind.TOPIC: "topics", FeedKind.PROVIDER: "providers", FeedKind.CUSTOM: "custom"}
MANAGED_FOLDERS = ("", *FOLDERS.values())  # the output's top folder and the feed folders
ARCHIVE = "archive"  # archive documents: archive/<feed path>/<period>.atom (archive.FOLDER)
LISTINGS = (STYLESHEET, INDEX_PAGE, OPML_FILE)  # written after the feeds they link to


def assign(keys_by_kind: Mapping[FeedKind, Iterable[str]]) -> tuple[dict[Ref, str], list[str]]:
    """Output path (no suffix) of every feed that exists; notes on names that had to be bent."""
    result: dict[Ref, str] = {ALL: "all"}
    notes: list[str] = []
    for kind, folder in FOLDERS.items():
        slugs, kind_notes = slug.assign(keys_by_kind.get(kind, ()))
        result.update(((kind, k), f"{folder}/{s}") for k, s in slugs.items())
        notes.extend(f"{folder}: {n}" for n in kind_notes)
    return result, notes


def reassign(
    written: Mapping[Ref, str], keys: Mapping[FeedKind, set[str]], always: bool = False
) -> tuple[dict[Ref, str], set[Ref]]:
    """Every feed's path for the feeds that exist now (`keys`), given the paths last written:
    unchanged when the set of feeds is (unless `always`); else assigned afresh, with notes
    logged when a path moves. Also returns the feeds whose path changed."""
    before: dict[FeedKind, set[str]] = {kind: set() for kind in FOLDERS}
    for kind, key in written:
        if kind is not FeedKind.ALL:
            before[kind].add(key)
    if not always and {kind: keys.get(kind, set()) for kind in FOLDERS} == before:
        return {**written, ALL: "all"}, set()
    paths, notes = assign(keys)
    moved = {ref for ref in set(paths) | set(written) if paths.get(ref) != written.get(ref)}
    if moved:
        for note in notes:
            log.warning("%s", note)
    return paths, moved


def on_disk(out_dir: Path) -> dict[str, Stamp]:
    """Stamps of the files in the managed output folders, to notice changes made behind us."""
    found: dict[str, Stamp] = {}
    for folder in MANAGED_FOLDERS:
        where = out_dir / folder if folder else out_dir
        try:
            entries = list(os.scandir(where))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False):
                    name = f"{folder}/{entry.name}" if folder else entry.name
                    found[name] = stamp_of(entry.stat(follow_symlinks=False))
            except OSError:
                continue
    return found


def ours(relative: str) -> bool:
    """Is this file of a managed folder one that feedsync writes (so a clean-up may remove it)?
    In a feed folder, any file with a format's suffix; in the top folder only the feed of
    everything's, so an operator's own `about.html` or `manifest.json` there is left alone."""
    folder, _, name = relative.rpartition("/")
    if folder.partition("/")[0] == ARCHIVE:
        return name.endswith(formats.suffixes(feed_only=True))
    if folder:
        return folder in FOLDERS.values() and name.endswith(formats.suffixes())
    return name in {formats.file_name("all", f) for f in formats.FORMATS}


def archive_folders(out_dir: Path) -> list[str]:
    """Every folder of the archive (`archive/topics/ai`), relative, for a fresh run's clean-up."""
    return [
        Path(where).relative_to(out_dir).as_posix() for where, _, _ in os.walk(out_dir / ARCHIVE)
    ]


def touched(name: str, on_disk: Mapping[str, Stamp], recorded: Mapping[str, Stamp]) -> bool:
    """Was this output file changed or removed since we wrote it?"""
    return name not in on_disk or on_disk[name] != recorded.get(name)
