"""The watcher reports which paths under the content folder changed, under the path the daemon
knows them by, and says when its watch has gone blind."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedsync.watcher import Watcher, identity
from feedsync.writer import TEMP_PREFIX

from conftest import wait_until


class Seen:
    """What the watcher recorded, safe to read from the test's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.paths: set[Path] = set()

    def __call__(self, path: Path) -> None:
        with self._lock:
            self.paths.add(path)

    def has(self, path: Path) -> bool:
        with self._lock:
            return path in self.paths


@pytest.fixture(params=["native", "polling"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def watching(tmp_path: Path, mode: str) -> Iterator[tuple[Path, Seen, Watcher]]:
    content = tmp_path / "content"
    content.mkdir()
    seen = Seen()
    watcher = Watcher(
        content,
        seen,
        mode=mode,
        poll_seconds=0.1,
        ignore_folders=[content / "out"],
        ignore_files=[content / "status.json"],
    )
    watcher.start()
    yield content, seen, watcher
    watcher.stop()


def test_a_new_and_an_edited_file_are_reported(watching: tuple[Path, Seen, Watcher]) -> None:
    content, seen, watcher = watching
    (content / "a.md").write_text("one")
    wait_until(lambda: seen.has(content / "a.md"), what="the new file")

    (content / "sub").mkdir()
    (content / "sub" / "b.md").write_text("two")
    wait_until(lambda: seen.has(content / "sub" / "b.md"), what="a file in a new folder")
    assert watcher.healthy()


def test_a_rename_reports_both_ends(watching: tuple[Path, Seen, Watcher]) -> None:
    content, seen, _ = watching
    (content / "draft.md").write_text("x")
    wait_until(lambda: seen.has(content / "draft.md"), what="the draft")
    os.rename(content / "draft.md", content / "final.md")
    wait_until(lambda: seen.has(content / "final.md"), what="the new name")


def test_our_own_writes_are_not_reported(watching: tuple[Path, Seen, Watcher]) -> None:
    content, seen, _ = watching
    (content / "out").mkdir()
    (content / "out" / "all.atom").write_text("feed")
    (content / "status.json").write_text("{}")
    (content / f"{TEMP_PREFIX}123-a.md.x").write_text("temp")
    (content / "marker.md").write_text("written last")
    wait_until(lambda: seen.has(content / "marker.md"), what="the marker")
    assert seen.paths.isdisjoint(
        {
            content / "out" / "all.atom",
            content / "status.json",
            content / f"{TEMP_PREFIX}123-a.md.x",
        }
    )


def test_a_symlinked_folder_is_watched_and_reported_by_its_link(tmp_path: Path, mode: str) -> None:
    release = tmp_path / "release1"
    release.mkdir()
    current = tmp_path / "current"
    current.symlink_to(release)
    seen = Seen()
    watcher = Watcher(current, seen, mode=mode, poll_seconds=0.1)
    watcher.start()
    try:
        (release / "a.md").write_text("x")
        wait_until(lambda: seen.has(current / "a.md"), what="the edit under the link's name")
        assert not seen.has(release / "a.md")
        assert watcher.healthy()
    finally:
        watcher.stop()


def test_a_replaced_folder_makes_the_watch_unhealthy(tmp_path: Path) -> None:
    release1, release2 = tmp_path / "release1", tmp_path / "release2"
    release1.mkdir()
    release2.mkdir()
    current = tmp_path / "current"
    current.symlink_to(release1)
    watcher = Watcher(current, Seen(), mode="native")
    watcher.start()
    try:
        first = identity(current)
        assert watcher.watching == first and watcher.healthy()

        swap = tmp_path / "current.tmp"
        swap.symlink_to(release2)
        os.rename(swap, current)

        assert identity(current) != first
        assert identity(current) == identity(release2)
        assert not watcher.healthy(), "the watch is still on release1"
    finally:
        watcher.stop()


def test_a_folder_renamed_away_is_seen_as_another_folder(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    before = identity(content)
    content.rename(tmp_path / "content.old")
    assert identity(content) is None
    content.mkdir()
    assert identity(content) not in (None, before)


def test_identity_is_none_for_a_file_or_nothing(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert identity(tmp_path / "file") is None
    assert identity(tmp_path / "missing") is None


def test_starting_on_a_missing_folder_says_which(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path / "missing", Seen())
    with pytest.raises(FileNotFoundError, match="missing"):
        watcher.start()
    assert not watcher.alive()
