"""writer: atomic, quiet (unchanged bytes are not rewritten), contained, and tidy."""

import os
import stat

import pytest

from feedsync.errors import OutputError
from feedsync.writer import TEMP_PREFIX, apply, sync


def ours(relative: str) -> bool:
    """The clean-up's test of what is ours, here: RSS and Atom files."""
    return relative.endswith((".rss", ".atom"))


def test_files_are_written_readable_by_a_web_server(tmp_path):
    outcome = sync(
        tmp_path, {"all.rss": b"<rss/>", "topics/ai.rss": b"<rss/>"}, ["", "topics"], ours
    )
    assert outcome.written == ("all.rss", "topics/ai.rss")
    assert (tmp_path / "topics/ai.rss").read_bytes() == b"<rss/>"
    assert stat.S_IMODE((tmp_path / "all.rss").stat().st_mode) == 0o644


def test_unchanged_bytes_are_not_rewritten_so_mtime_stays(tmp_path):
    sync(tmp_path, {"all.rss": b"same"}, [""], ours)
    os.utime(tmp_path / "all.rss", (1_000_000, 1_000_000))
    outcome = sync(tmp_path, {"all.rss": b"same"}, [""], ours)
    assert outcome.written == () and outcome.unchanged == ("all.rss",)
    assert (tmp_path / "all.rss").stat().st_mtime == 1_000_000


def test_stale_feeds_and_leftover_temp_files_are_removed_but_nothing_else(tmp_path):
    (tmp_path / "topics").mkdir()
    (tmp_path / "topics/old.atom").write_text("x")
    (tmp_path / "topics/notes.txt").write_text("keep me")
    (tmp_path / "topics" / f"{TEMP_PREFIX}ai.rss.abc").write_text("torn")
    outcome = sync(tmp_path, {"topics/ai.rss": b"x"}, ["topics"], ours)
    assert outcome.removed == ("topics/old.atom",)
    assert sorted(p.name for p in (tmp_path / "topics").iterdir()) == ["ai.rss", "notes.txt"]


@pytest.mark.parametrize("relative", ["../escape.rss", "/etc/evil.rss", "topics/../../x.rss"])
def test_nothing_is_written_outside_the_output_folder(tmp_path, relative):
    out = tmp_path / "out"
    with pytest.raises(OutputError):
        sync(out, {relative: b"x"}, [""], ours)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["out"]


def test_a_prefix_sibling_folder_is_outside(tmp_path):
    (tmp_path / "out-evil").mkdir()
    with pytest.raises(OutputError):
        apply(tmp_path / "out", {"../out-evil/x.rss": b"x"}, ())
    assert not (tmp_path / "out-evil/x.rss").exists()


def test_a_symlinked_subfolder_pointing_outside_is_refused(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "topics").symlink_to(elsewhere)
    with pytest.raises(OutputError):
        sync(out, {"topics/ai.rss": b"x"}, ["topics"], ours)
    assert list(elsewhere.iterdir()) == []


def test_a_failed_write_reports_and_keeps_the_old_file(tmp_path, monkeypatch):
    sync(tmp_path, {"all.rss": b"old"}, [""], ours)

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdatasync", full_disk)
    with pytest.raises(OutputError, match="No space left"):
        sync(tmp_path, {"all.rss": b"new content"}, [""], ours)
    monkeypatch.undo()
    assert (tmp_path / "all.rss").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["all.rss"]


def test_listings_are_written_after_the_feeds_they_link_to(tmp_path, monkeypatch):
    import feedsync.writer as writer_module

    order = []
    real = os.replace
    monkeypatch.setattr(
        writer_module.os,
        "replace",
        lambda tmp, target: (order.append(target.name), real(tmp, target)),
    )
    sync(
        tmp_path,
        {"index.html": b"i", "all.rss": b"a", "topics/z.rss": b"z"},
        ["", "topics"],
        ours,
        last=["index.html"],
    )
    assert order == ["all.rss", "z.rss", "index.html"]
