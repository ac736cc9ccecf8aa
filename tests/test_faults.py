"""Disk faults on a real file system: a tiny tmpfs that fills up, then turns read-only.

192 kB: a run needs room for its new files beside the old ones until it publishes them.

Needs root (mount); skips with that reason elsewhere. CI runs as root.
"""

import os

import feedparser

from feedsync.cli import main

from conftest import remount


def snapshot(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_a_full_disk_exits_3_and_leaves_the_old_feeds_whole(
    tmp_path, small_disk, write_article, capsys
):
    content = tmp_path / "in"
    write_article(content, "a.md", title="Fits", topics=["AI"])
    args = ["generate", "--content", str(content), "--output", str(small_disk)]
    assert main(args) == 0
    before = snapshot(small_disk)
    for i in range(300):  # far more than 192 kB of feeds
        write_article(
            content, f"n{i}.md", title=f"New {i} " + "x" * 100, topics=[f"T{i}"], excerpt="y" * 400
        )
    assert main(args) == 3
    assert "No space left on device" in capsys.readouterr().err
    after = snapshot(small_disk)
    for name, data in before.items():  # every feed a reader had is still complete
        assert after.get(name, data) == data or not feedparser.parse(after[name]).bozo
    assert not [n for n in after if ".feedsync-tmp-" in n]  # failed writes left nothing
    for name, data in after.items():
        if name.endswith((".rss", ".atom")):
            assert not feedparser.parse(data).bozo, name


def test_a_read_only_output_exits_3_and_changes_nothing(
    tmp_path, small_disk, write_article, capsys
):
    content = tmp_path / "in"
    write_article(content, "a.md", title="Old")
    args = ["generate", "--content", str(content), "--output", str(small_disk)]
    assert main(args) == 0
    before = snapshot(small_disk)
    remount(small_disk, "ro")
    write_article(content, "a.md", title="New")
    assert main(args) == 3
    assert "Read-only file system" in capsys.readouterr().err
    assert snapshot(small_disk) == before
    remount(small_disk, "rw")
    assert main(args) == 0  # and the next run, once writable, catches up
    assert [e.title for e in feedparser.parse((small_disk / "all.atom").read_bytes()).entries] == [
        "New"
    ]
    assert os.access(small_disk / "all.atom", os.R_OK)


def test_a_full_disk_on_a_fresh_output_says_which_feeds_are_missing_and_lists_none(
    tmp_path, small_disk, write_article, capsys
):
    content = tmp_path / "in"
    for i in range(300):  # far more than 192 kB of feeds, and nothing there yet
        write_article(
            content,
            f"n{i:03}.md",
            title=f"New {i} " + "x" * 100,
            topics=[f"T{i}"],
            excerpt="y" * 400,
        )
    assert main(["generate", "--content", str(content), "--output", str(small_disk)]) == 3
    err = capsys.readouterr().err
    assert "No space left on device" in err
    assert "feeds were not written (" in err and "topics/t" in err
    assert "index.html and feeds.opml were not written" in err
    assert "feeds already there are unchanged" not in err  # there were none
    assert not (small_disk / "index.html").exists() and not (small_disk / "feeds.opml").exists()
    assert not [p for p in small_disk.rglob(".feedsync-tmp-*")]
    for feed in small_disk.rglob("*.atom"):  # what did get written is whole
        assert not feedparser.parse(feed.read_bytes()).bozo, feed
