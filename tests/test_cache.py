"""The persistent cache: a run after a restart gives exactly what a fresh uncached run gives.

Every cached run here opens the cache afresh (`State.open` ... `close`), as a new process does,
and its output folder is compared byte for byte with an uncached run into a folder of its own.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from feedsync import config, generate
from feedsync.cli import main
from feedsync.normalise import article_id
from feedsync.store import schema

from conftest import FIXED_NOW, article_text, tree

NOW_ARG = "2026-01-01T00:00:00Z"  # FIXED_NOW on the command line
FEEDS = ("rss", "atom", "json")
TOPICS = ["AI", "ai", "Robotics", "Open Source", "C++", "C ++", "Künstliche Intelligenz"]
PROVIDERS = ["Acme", "ACME", "Beta", "Gamma"]

# Distinct, increasing modification times: an edit is never hidden by timestamp granularity.
_MTIMES = itertools.count(1_000_000_000 * 10**9, 7 * 10**9 + 123)


# -- helpers -----------------------------------------------------------------------------------


def cfg(content: Path, out: Path, **settings) -> config.Config:
    """Tombstones off: these runs are compared with a fresh run, which has no history of what
    left (tombstones are history by design: tests/test_tombstones.py)."""
    base = {"content_dir": content, "output_dir": out, "tombstone_days": 0}
    return config.load(None, {**base, **settings})


def cached(content: Path, out: Path, cache_file: Path, now: datetime = FIXED_NOW, **settings):
    """One run with the cache file, as a fresh `feedsync generate --cache FILE` process does."""
    c = cfg(content, out, cache_file=cache_file, **settings)
    state = generate.State.open(c)
    try:
        return generate.run(c, now, state=state)
    finally:
        state.close()


def stamps(root: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, p.stat().st_ino)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def fresh(content: Path, where: Path, now: datetime = FIXED_NOW, **settings) -> dict[str, bytes]:
    """The output tree of an uncached run into an empty folder of its own."""
    shutil.rmtree(where, ignore_errors=True)
    report = generate.run(cfg(content, where, cache=False, **settings), now)
    assert report.files_read > 0 or not any(content.rglob("*.md"))
    return tree(where)


def touch(path: Path) -> None:
    """Give `path` a new modification time no earlier edit had."""
    ns = next(_MTIMES)
    os.utime(path, ns=(ns, ns))


def put(path: Path, title: str, **fields) -> Path:
    """Write an article file and give it a modification time of its own."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(article_text(title, **fields), encoding="utf-8")
    touch(path)
    return path


def feed_titles(path: Path) -> list[str]:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return [e.title for e in parsed.entries]


def feed_ids(path: Path) -> set[str]:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return {e.id for e in parsed.entries}


def files_of(*feeds: str) -> set[str]:
    return {f"{feed}.{ext}" for feed in feeds for ext in FEEDS}


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`feedsync ARGV` in this process; the root logger is given back as it was."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        code = main(list(argv))
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    out, err = capsys.readouterr()
    return code, out, err


def small_site(content: Path) -> None:
    put(content / "a.md", "Alpha", topics=["AI"], provider="Acme", day="2024-05-01")
    put(content / "b.md", "Beta", topics=["Robotics"], provider="Beta", day="2024-05-02")
    put(
        content / "sub/c.md",
        "Gamma",
        topics=["AI", "Open Source"],
        provider="Acme",
        day="2024-05-03",
    )


def random_article(rng: random.Random, title: str) -> str:
    return article_text(
        title,
        day=f"202{rng.randint(3, 6)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        time=f"{rng.randint(10, 23)}:{rng.randint(10, 59)}:00Z",
        published=rng.random() < 0.85,
        provider=rng.choice(PROVIDERS),
        topics=rng.sample(TOPICS, rng.randint(0, 3)) or None,
        quality=rng.randint(0, 100),
    )


@pytest.fixture
def site(tmp_path):
    """(content, out, cache_file) with three articles, after a first cached run."""
    content, out, cache_file = tmp_path / "in", tmp_path / "out", tmp_path / "c.sqlite3"
    small_site(content)
    report = cached(content, out, cache_file)
    assert report.exit_code == 0 and report.files_read == 3
    assert cache_file.is_file()
    return content, out, cache_file


# -- 1. nothing changed ------------------------------------------------------------------------


def test_a_second_run_with_nothing_changed_reads_and_writes_nothing(site, tmp_path):
    content, out, cache_file = site
    before_bytes, before_stamps = tree(out), stamps(out)
    assert {"all.atom", "topics/ai.rss", "providers/acme.json", "index.html", "feeds.opml"} <= set(
        before_bytes
    )

    report = cached(content, out, cache_file)

    assert report.exit_code == 0
    assert report.files_read == 0
    assert report.written == () and report.removed == ()
    assert set(report.unchanged) == set(before_bytes)
    assert report.articles == 3 and report.published == 3
    assert tree(out) == before_bytes
    assert stamps(out) == before_stamps  # not even rewritten with the same bytes
    assert tree(out) == fresh(content, tmp_path / "fresh")


# -- 2. an edited file --------------------------------------------------------------------------


def test_an_edited_file_is_the_only_one_read_and_its_feeds_are_rewritten(site, tmp_path):
    content, out, cache_file = site
    before = tree(out)
    put(content / "a.md", "Alpha edited", topics=["AI"], provider="Acme", day="2024-05-01")

    report = cached(content, out, cache_file)

    assert report.exit_code == 0
    assert report.files_read == 1
    assert files_of("all", "topics/ai", "providers/acme") <= set(report.written)
    untouched = files_of("topics/robotics", "providers/beta", "topics/open-source")
    assert not untouched & set(report.written)
    assert all(tree(out)[name] == before[name] for name in untouched)
    assert "Alpha edited" in feed_titles(out / "topics/ai.atom")
    assert "Alpha" not in feed_titles(out / "topics/ai.atom")
    assert "Alpha edited" in feed_titles(out / "all.rss")
    assert tree(out) == fresh(content, tmp_path / "fresh")


def test_an_edit_that_keeps_the_size_is_still_seen(site, tmp_path):
    content, out, cache_file = site
    size = (content / "b.md").stat().st_size
    put(content / "b.md", "Betb", topics=["Robotics"], provider="Beta", day="2024-05-02")
    assert (content / "b.md").stat().st_size == size

    report = cached(content, out, cache_file)

    assert report.files_read == 1
    assert feed_titles(out / "topics/robotics.atom") == ["Betb"]
    assert tree(out) == fresh(content, tmp_path / "fresh")


# -- 3. touched, not changed --------------------------------------------------------------------


def test_a_touched_but_unchanged_file_is_read_again_and_nothing_is_written(site):
    content, out, cache_file = site
    before_bytes, before_stamps = tree(out), stamps(out)
    touch(content / "sub/c.md")

    report = cached(content, out, cache_file)

    assert report.exit_code == 0
    assert report.files_read == 1
    assert report.written == () and report.removed == ()
    assert tree(out) == before_bytes and stamps(out) == before_stamps
    assert cached(content, out, cache_file).files_read == 0  # the new stamp was remembered


# -- 4. a renamed file --------------------------------------------------------------------------


def test_a_renamed_file_gets_its_new_id_as_a_fresh_run_gives_it(site, tmp_path):
    content, out, cache_file = site
    old_id, new_id = article_id(None, "b.md"), article_id(None, "sub/renamed.md")
    assert old_id != new_id
    assert old_id in feed_ids(out / "all.atom")
    os.rename(content / "b.md", content / "sub/renamed.md")

    report = cached(content, out, cache_file)

    assert report.exit_code == 0 and report.files_read == 1
    ids = feed_ids(out / "all.atom")
    assert old_id not in ids and new_id in ids and len(ids) == 3
    assert feed_ids(out / "topics/robotics.atom") == {new_id}
    assert tree(out) == fresh(content, tmp_path / "fresh")


def test_a_renamed_folder_and_a_new_file_in_its_place(site, tmp_path):
    content, out, cache_file = site
    os.rename(content / "sub", content / "moved")
    put(content / "sub/c.md", "Newcomer", topics=["Space"], provider="Gamma")

    report = cached(content, out, cache_file)

    assert report.exit_code == 0 and report.files_read == 2
    assert article_id(None, "moved/c.md") in feed_ids(out / "all.atom")
    assert feed_titles(out / "topics/space.atom") == ["Newcomer"]
    assert tree(out) == fresh(content, tmp_path / "fresh")


# -- 5. a deleted file --------------------------------------------------------------------------


def test_a_deleted_file_leaves_the_feeds_and_an_emptied_feed_is_removed(site, tmp_path):
    content, out, cache_file = site
    (content / "b.md").unlink()

    report = cached(content, out, cache_file)

    assert report.exit_code == 0 and report.files_read == 0
    assert files_of("topics/robotics", "providers/beta") <= set(report.removed)
    assert not (out / "topics/robotics.rss").exists()
    assert not (out / "providers/beta.atom").exists()
    assert "Beta" not in feed_titles(out / "all.atom")
    assert "robotics" not in (out / "index.html").read_text()
    assert tree(out) == fresh(content, tmp_path / "fresh")


def test_deleting_every_file_empties_the_site_as_a_fresh_run_does(site, tmp_path):
    content, out, cache_file = site
    shutil.rmtree(content)
    content.mkdir()

    report = cached(content, out, cache_file)

    assert report.exit_code == 0 and report.articles == 0
    assert not (out / "topics/ai.atom").exists()
    assert tree(out) == fresh(content, tmp_path / "fresh")


# -- 6. output files changed behind feedsync's back ---------------------------------------------


def test_output_files_deleted_or_edited_by_hand_are_put_back(site, tmp_path):
    content, out, cache_file = site
    expected = fresh(content, tmp_path / "fresh")
    assert tree(out) == expected
    (out / "topics/ai.rss").unlink()
    (out / "all.atom").write_bytes(b"<broken by hand/>")
    original = (out / "providers/acme.json").read_bytes()
    (out / "providers/acme.json").write_bytes(original.replace(b"Alpha", b"Alphz"))  # same size
    (out / "feeds.opml").unlink()
    (out / "index.html").write_text("hello", encoding="utf-8")

    report = cached(content, out, cache_file)

    assert report.exit_code == 0 and report.files_read == 0
    assert {"topics/ai.rss", "all.atom", "providers/acme.json", "feeds.opml", "index.html"} <= set(
        report.written
    )
    assert tree(out) == expected
    after = cached(content, out, cache_file)  # and it is settled again
    assert after.written == () and tree(out) == expected


def test_a_whole_output_folder_removed_is_written_again(site, tmp_path):
    content, out, cache_file = site
    shutil.rmtree(out)

    report = cached(content, out, cache_file)

    assert report.exit_code == 0 and report.files_read == 0
    assert tree(out) == fresh(content, tmp_path / "fresh")


def test_a_stale_feed_file_dropped_into_the_output_is_removed_as_a_fresh_run_would(site, tmp_path):
    content, out, cache_file = site
    expected = fresh(content, tmp_path / "fresh")
    (out / "topics/leftover.rss").write_text("<rss/>", encoding="utf-8")

    # An uncached run into the same folder removes it; the cached run must agree.
    copy = tmp_path / "uncached-same-folder"
    shutil.copytree(out, copy)
    generate.run(cfg(content, copy, cache=False), FIXED_NOW)
    cached(content, out, cache_file)

    assert tree(copy) == expected
    assert tree(out) == tree(copy)


# -- 7. a corrupt cache -------------------------------------------------------------------------


def test_a_corrupt_cache_file_is_rebuilt_with_a_warning(tmp_path, capsys):
    content, out, cache_file = tmp_path / "in", tmp_path / "out", tmp_path / "c.sqlite3"
    small_site(content)
    cache_file.write_bytes(b"not a database" * 100)
    args = (
        "generate",
        "--content",
        str(content),
        "--output",
        str(out),
        "--now",
        NOW_ARG,
        "--cache",
        str(cache_file),
    )

    code, stdout, err = cli(capsys, *args)

    assert code == 0, err
    assert "3 files read" in stdout
    assert "cache" in err.lower() and str(cache_file) in err
    assert tree(out) == fresh(content, tmp_path / "fresh")
    with sqlite3.connect(cache_file) as db:  # a real database now
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    third = cached(content, out, cache_file)
    assert third.files_read == 0 and third.written == ()
    code, stdout, err = cli(capsys, *args)
    assert code == 0 and "0 files read" in stdout and "0 files written" in stdout
    assert err == ""


def test_a_cache_with_damaged_pages_never_fails_the_run(tmp_path, capsys):
    """A database whose inner pages were overwritten (a bad disk, a partial copy)."""
    content, out, cache_file = tmp_path / "in", tmp_path / "out", tmp_path / "c.sqlite3"
    for i in range(120):
        put(
            content / f"{i:03}.md",
            f"Article {i}",
            topics=[TOPICS[i % len(TOPICS)]],
            provider=PROVIDERS[i % len(PROVIDERS)],
            day=f"2024-0{1 + i % 9}-1{i % 10}",
        )
    assert cached(content, out, cache_file).exit_code == 0
    data = bytearray(cache_file.read_bytes())
    page = 4096
    assert len(data) > 8 * page
    for start in range(2 * page, len(data), 3 * page):  # every third page after the first two
        data[start : start + page] = bytes([0x5A]) * page
    cache_file.write_bytes(bytes(data))
    with sqlite3.connect(cache_file) as db:  # the damage is there, and SQLite can tell
        assert db.execute("PRAGMA quick_check(1)").fetchone() != ("ok",)
    db.close()
    put(content / "000.md", "Article zero, edited", topics=["AI"], provider="Acme")
    args = (
        "generate",
        "--content",
        str(content),
        "--output",
        str(out),
        "--now",
        NOW_ARG,
        "--cache",
        str(cache_file),
    )

    code, _, err = cli(capsys, *args)

    assert code == 0, err
    assert tree(out) == fresh(content, tmp_path / "fresh")
    code, stdout, err = cli(capsys, *args)
    assert code == 0 and "0 files read" in stdout, err


# -- 8. a cache from other settings or another version ------------------------------------------


@pytest.mark.parametrize("how", ["config", "version", "tables"])
def test_a_cache_from_elsewhere_is_rebuilt_and_gives_the_same_output(
    site, tmp_path, how, monkeypatch, caplog
):
    content, out, cache_file = site
    before_bytes = tree(out)
    if how == "config":
        with sqlite3.connect(cache_file) as db:
            db.execute("UPDATE meta SET value='other' WHERE key='config'")
        db.close()
    elif how == "version":
        monkeypatch.setattr(schema, "__version__", "0.0.0-other")
    else:  # an old layout: other tables, no meta
        with sqlite3.connect(cache_file) as db:
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall():
                db.execute(f'DROP TABLE "{name}"')
            db.execute("CREATE TABLE files (path TEXT PRIMARY KEY, mtime REAL, blob BLOB)")
            db.execute("INSERT INTO files VALUES ('a.md', 1.0, x'00')")
        db.close()

    with caplog.at_level(logging.INFO, logger="feedsync"):
        report = cached(content, out, cache_file)

    assert report.exit_code == 0
    assert any(str(cache_file) in r.getMessage() for r in caplog.records), caplog.text
    assert report.files_read == 3  # nothing was trusted
    assert report.written == () and report.removed == ()  # the same bytes are not rewritten
    assert tree(out) == before_bytes == fresh(content, tmp_path / "fresh")
    assert cached(content, out, cache_file).files_read == 0


# -- 9. settings changed, same cache file --------------------------------------------------------


def test_changing_settings_with_the_same_cache_gives_what_an_uncached_run_gives(tmp_path):
    content, out, cache_file = tmp_path / "in", tmp_path / "out", tmp_path / "c.sqlite3"
    rng = random.Random(7)
    for i in range(14):
        path = content / f"{i:02}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(random_article(rng, f"Story {i}"), encoding="utf-8")
    steps = [
        {"site_title": "First", "max_items": 5},
        {"site_title": "Second", "max_items": 5},
        {"site_title": "Second", "max_items": 2},
        {"site_title": "Second", "max_items": 2, "base_url": "https://feeds.example.org/x/"},
        {"site_title": "Second", "max_items": 2, "formats": ["atom"]},
        {"site_title": "Second", "max_items": 2, "site_url": "https://www.example.org/"},
        {"site_title": "First", "max_items": 5},
    ]
    for step, settings in enumerate(steps):
        report = cached(content, out, cache_file, **settings)
        assert report.exit_code == 0, settings
        assert tree(out) == fresh(content, tmp_path / "fresh", **settings), (step, settings)
    assert (out / "all.rss").is_file()
    assert "<title>First</title>" in (out / "all.rss").read_text(encoding="utf-8")
    assert len(feedparser.parse((out / "all.atom").read_bytes()).entries) == 5


# -- 10. two processes at once, and a cache somebody else holds ----------------------------------


def test_two_processes_sharing_a_cache_both_succeed(tmp_path):
    content, out, cache_file = tmp_path / "in", tmp_path / "out", tmp_path / "c.sqlite3"
    rng = random.Random(300)
    content.mkdir()
    for i in range(300):
        (content / f"{i:03}.md").write_text(random_article(rng, f"Story {i}"), encoding="utf-8")
    settings = tmp_path / "feedsync.yaml"
    settings.write_text("tombstone_days: 0\n")  # compared with fresh runs, as `cfg` says
    command = [
        sys.executable,
        "-m",
        "feedsync",
        "generate",
        "--config",
        str(settings),
        "--content",
        str(content),
        "--output",
        str(out),
        "--now",
        NOW_ARG,
        "--cache",
        str(cache_file),
        "-q",
    ]

    def both() -> None:
        procs = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        try:
            results = [p.communicate(timeout=120) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        for p, (stdout, stderr) in zip(procs, results):
            assert p.returncode == 0, stderr
            assert "Traceback" not in stderr

    both()  # neither finds a cache file
    expected = fresh(content, tmp_path / "fresh")
    assert tree(out) == expected

    for i in rng.sample(range(300), 25):  # then both find the same edits
        path = content / f"{i:03}.md"
        path.write_text(random_article(rng, f"Edited {i}"), encoding="utf-8")
        touch(path)
    (content / "007.md").unlink()
    both()
    expected = fresh(content, tmp_path / "fresh")
    assert tree(out) == expected

    after = cached(content, out, cache_file)
    assert after.files_read == 0 and after.written == () and after.removed == ()
    assert tree(out) == expected


def _hold(cache_file: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(cache_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_cache_locked_by_another_process_means_a_run_without_it(
    site, tmp_path, monkeypatch, caplog
):
    content, out, cache_file = site
    monkeypatch.setattr(schema, "LOCK_WAIT_SECONDS", 0.2)
    put(content / "a.md", "Alpha while locked", topics=["AI"], provider="Acme", day="2024-05-01")
    holder = _hold(cache_file)
    try:
        with caplog.at_level(logging.WARNING):
            report = cached(content, out, cache_file)
    finally:
        holder.rollback()
        holder.close()

    assert report.exit_code == 0
    assert report.files_read == 3  # in memory: every file read
    assert any(
        r.levelno >= logging.WARNING and "cache" in r.getMessage() for r in caplog.records
    ), caplog.text
    assert "Alpha while locked" in feed_titles(out / "topics/ai.atom")
    expected = fresh(content, tmp_path / "fresh")
    assert tree(out) == expected

    # Once free, the cache (which missed that run) still gives the right answer.
    again = cached(content, out, cache_file)
    assert again.exit_code == 0 and tree(out) == expected
    settled = cached(content, out, cache_file)
    assert settled.files_read == 0 and settled.written == () and tree(out) == expected


def test_a_cache_locked_between_opening_and_running_means_a_run_without_it(
    site, tmp_path, monkeypatch, caplog
):
    content, out, cache_file = site
    monkeypatch.setattr(schema, "LOCK_WAIT_SECONDS", 0.2)
    (content / "b.md").unlink()
    c = cfg(content, out, cache_file=cache_file)
    state = generate.State.open(c)
    holder = _hold(cache_file)
    try:
        with caplog.at_level(logging.WARNING):
            report = generate.run(c, FIXED_NOW, state=state)
    finally:
        state.close()
        holder.rollback()
        holder.close()

    assert report.exit_code == 0
    assert any(
        r.levelno >= logging.WARNING and "cache" in r.getMessage() for r in caplog.records
    ), caplog.text
    expected = fresh(content, tmp_path / "fresh")
    assert tree(out) == expected
    assert cached(content, out, cache_file).exit_code == 0
    assert tree(out) == expected


def test_a_locked_cache_through_the_command_line_exits_0(site, tmp_path, monkeypatch, capsys):
    content, out, cache_file = site
    monkeypatch.setattr(schema, "LOCK_WAIT_SECONDS", 0.2)
    holder = _hold(cache_file)
    try:
        code, stdout, err = cli(
            capsys,
            "generate",
            "--content",
            str(content),
            "--output",
            str(out),
            "--now",
            NOW_ARG,
            "--cache",
            str(cache_file),
        )
    finally:
        holder.rollback()
        holder.close()
    assert code == 0, err
    assert "cache" in err and "3 files read" in stdout
    assert tree(out) == fresh(content, tmp_path / "fresh")


# -- 11. a random sequence of changes ------------------------------------------------------------


def test_cached_runs_match_uncached_runs_through_random_changes(tmp_path):
    rng = random.Random(20260101)
    content, out, cache_file = tmp_path / "in", tmp_path / "out", tmp_path / "c.sqlite3"
    names = [f"a{i}.md" for i in range(10)] + [f"sub/b{i}.md" for i in range(5)]
    for name in names[:8] + names[10:13]:
        path = content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(random_article(rng, f"Start {name}"), encoding="utf-8")
    now = FIXED_NOW
    assert cached(content, out, cache_file, now, max_items=5).exit_code == 0
    assert tree(out) == fresh(content, tmp_path / "fresh", now, max_items=5)
    kinds_seen = set()
    for step in range(30):
        present = [n for n in names if (content / n).exists()]
        absent = [n for n in names if not (content / n).exists()]
        action = rng.random()
        if action < 0.35 and present:
            kind, name = "edit", rng.choice(present)
            path = content / name
            path.write_text(random_article(rng, f"Edit {step}"), encoding="utf-8")
            touch(path)
        elif action < 0.55 and absent:
            kind, name = "add", rng.choice(absent)
            path = content / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(random_article(rng, f"Add {step}"), encoding="utf-8")
            touch(path)
        elif action < 0.7 and present:
            kind, name = "delete", rng.choice(present)
            (content / name).unlink()
        elif action < 0.85 and present:
            kind, name = "rename", rng.choice(present)
            target = rng.choice([n for n in names if n != name])
            (content / target).parent.mkdir(parents=True, exist_ok=True)
            os.rename(content / name, content / target)  # may replace an existing file
        elif action < 0.92 and present:
            kind, name = "touch", rng.choice(present)
            touch(content / name)
        else:
            kind, name = "time", ""
            now += timedelta(days=rng.randint(30, 400))  # embargoes end
        kinds_seen.add(kind)
        report = cached(content, out, cache_file, now, max_items=5)
        assert report.exit_code == 0, (step, kind, name)
        assert tree(out) == fresh(content, tmp_path / "fresh", now, max_items=5), (
            f"step {step}: {kind} {name}"
        )
    assert {"edit", "add", "delete", "rename"} <= kinds_seen
    settled = cached(content, out, cache_file, now, max_items=5)
    assert settled.files_read == 0 and settled.written == ()


# -- 12. time passes with nothing changed on disk ------------------------------------------------


def test_a_scheduled_article_appears_when_its_time_comes_with_nothing_changed(site, tmp_path):
    content, out, cache_file = site
    put(content / "later.md", "Scheduled", topics=["Space"], provider="Acme", day="2026-03-01")
    first = cached(content, out, cache_file)
    assert first.scheduled == 1 and first.published == 3
    assert "Scheduled" not in feed_titles(out / "all.atom")
    assert not (out / "topics/space.atom").exists()
    assert tree(out) == fresh(content, tmp_path / "fresh")

    later = FIXED_NOW + timedelta(days=90)
    report = cached(content, out, cache_file, later)

    assert report.files_read == 0
    assert report.scheduled == 0 and report.published == 4
    assert "Scheduled" in feed_titles(out / "all.atom")
    assert feed_titles(out / "topics/space.atom") == ["Scheduled"]
    assert tree(out) == fresh(content, tmp_path / "fresh", later)

    # And when the clock is set back, it is hidden again.
    back = cached(content, out, cache_file, FIXED_NOW)
    assert back.scheduled == 1
    assert not (out / "topics/space.atom").exists()
    assert tree(out) == fresh(content, tmp_path / "fresh", FIXED_NOW)


# -- 13. --no-cache ------------------------------------------------------------------------------


def test_no_cache_creates_no_cache_file(tmp_path, monkeypatch, capsys):
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    content, out, cache_file = tmp_path / "in", tmp_path / "out", tmp_path / "c.sqlite3"
    small_site(content)
    base = ("generate", "--content", str(content), "--output", str(out), "--now", NOW_ARG)

    code, stdout, err = cli(capsys, *base, "--no-cache")
    assert code == 0 and "3 files read" in stdout, err
    assert not xdg.exists()
    code, stdout, err = cli(capsys, *base, "--no-cache")  # and every run reads everything
    assert code == 0 and "3 files read" in stdout and "0 files written" in stdout, err
    assert not xdg.exists()

    code, _, err = cli(capsys, *base, "--no-cache", "--cache", str(cache_file))
    assert code == 0, err
    assert not cache_file.exists() and not xdg.exists()
    assert not list(tmp_path.glob("c.sqlite3*"))

    settings = tmp_path / "feedsync.yaml"
    settings.write_text("cache: false\n", encoding="utf-8")
    code, _, err = cli(capsys, *base, "--config", str(settings))
    assert code == 0, err
    assert not xdg.exists()

    # Without it, the cache goes where the default says.
    code, _, err = cli(capsys, *base)
    assert code == 0, err
    default = schema.default_path(cfg(content, out))
    assert default.is_relative_to(xdg) and default.is_file()
    assert tree(out) == fresh(content, tmp_path / "fresh")
