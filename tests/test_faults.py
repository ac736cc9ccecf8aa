"""Disk faults on a real file system: a tiny tmpfs that fills up, then turns read-only.

Needs root (mount); skips with that reason elsewhere. CI runs as root.
"""

import os
import subprocess

import feedparser
import pytest

from feedsync.cli import main


@pytest.fixture
def small_disk(tmp_path):
    """A 96 kB tmpfs mounted as the output folder; always unmounted."""
    mount = tmp_path / "out"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k,mode=0755", "tmpfs",
                           str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}


def test_a_full_disk_exits_3_and_leaves_the_old_feeds_whole(tmp_path, small_disk,
                                                            write_article, capsys):
    content = tmp_path / "in"
    write_article(content, "a.md", title="Fits", topics=["AI"])
    args = ["generate", "--content", str(content), "--output", str(small_disk)]
    assert main(args) == 0
    before = snapshot(small_disk)
    for i in range(300):  # far more than 96 kB of feeds
        write_article(content, f"n{i}.md", title=f"New {i} " + "x" * 100, topics=[f"T{i}"],
                      excerpt="y" * 400)
    assert main(args) == 3
    assert "No space left on device" in capsys.readouterr().err
    after = snapshot(small_disk)
    for name, data in before.items():  # every feed a reader had is still complete
        assert after.get(name, data) == data or not feedparser.parse(after[name]).bozo
    assert not [n for n in after if ".feedsync-tmp-" in n]  # failed writes left nothing
    for name, data in after.items():
        if name.endswith((".rss", ".atom")):
            assert not feedparser.parse(data).bozo, name


def test_a_read_only_output_exits_3_and_changes_nothing(tmp_path, small_disk, write_article,
                                                        capsys):
    content = tmp_path / "in"
    write_article(content, "a.md", title="Old")
    args = ["generate", "--content", str(content), "--output", str(small_disk)]
    assert main(args) == 0
    before = snapshot(small_disk)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    write_article(content, "a.md", title="New")
    assert main(args) == 3
    assert "Read-only file system" in capsys.readouterr().err
    assert snapshot(small_disk) == before
    subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    assert main(args) == 0  # and the next run, once writable, catches up
    assert [e.title for e in feedparser.parse((small_disk / "all.atom").read_bytes()).entries] \
        == ["New"]
    assert os.access(small_disk / "all.atom", os.R_OK)
