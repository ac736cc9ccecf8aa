"""feedsync run: real file-system events in tmp_path folders; wait on conditions, never sleep."""

import os
import shutil
import signal
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import feedparser
import pytest

from feedsync import config, status
from feedsync.daemon import Daemon, utc_now
from feedsync.errors import FeedsyncError

from conftest import (
    RunningClock,
    article_text,
    feedsync_process,
    read_status,
    status_path,
    titles,
    wait_until,
)


def ids(path: Path) -> list[str]:
    return [e.id for e in feedparser.parse(path.read_bytes()).entries]


@pytest.fixture
def start(tmp_path):
    """Start a daemon on a background thread; always stop it and join every thread it made."""
    before = set(threading.enumerate())
    started: list[tuple[Daemon, threading.Thread]] = []

    def _start(content=None, out=None, reload=None, clock=None, **settings):
        content = content or tmp_path / "in"
        content.mkdir(parents=True, exist_ok=True)
        cfg = config.load(
            None,
            {
                "content_dir": content,
                "output_dir": out or tmp_path / "out",
                "debounce_ms": 50,
                **settings,
            },
        )
        daemon = Daemon(cfg, reload=reload, clock=clock if clock is not None else utc_now)
        thread = threading.Thread(target=daemon.run, name="feedsync-daemon-test")
        thread.start()
        started.append((daemon, thread))
        assert daemon.ready.wait(10), "daemon did not finish its first run"
        return daemon

    yield _start
    for daemon, thread in started:
        daemon.stop()
        thread.join(10)
        assert not thread.is_alive()
    wait_until(
        lambda: not [t for t in set(threading.enumerate()) - before if t.is_alive()],
        timeout=10,
        what="every thread the daemon started to stop",
    )


def test_add_edit_rename_delete_follow_within_a_second(tmp_path, start, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    start()
    write_article(content, "a.md", title="Added", topics=["AI"])
    wait_until(lambda: titles(out / "topics/ai.atom") == ["Added"], 2, "added article")
    write_article(content, "a.md", title="Edited", topics=["AI"])
    wait_until(lambda: titles(out / "topics/ai.atom") == ["Edited"], 2, "edit")
    before = ids(out / "all.atom")
    (content / "a.md").rename(content / "b.md")  # a new path is a new id (README: stable ids)
    wait_until(
        lambda: len(ids(out / "all.atom")) == 1 and ids(out / "all.atom") != before,
        2,
        "rename to replace the item",
    )
    assert titles(out / "all.atom") == ["Edited"]
    (content / "b.md").unlink()
    wait_until(
        lambda: titles(out / "all.atom") == [] and not (out / "topics/ai.atom").exists(),
        2,
        "delete removes the article and its topic feed",
    )


def test_an_atomic_save_through_a_temp_file_is_seen(tmp_path, start, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="Before")
    start()
    tmp = content / ".a.md.swp"
    tmp.write_text(article_text("After"), encoding="utf-8")
    os.replace(tmp, content / "a.md")
    wait_until(lambda: titles(out / "all.atom") == ["After"], 2, "atomic save")


def test_a_file_written_in_chunks_ends_up_whole(tmp_path, start):
    content, out = tmp_path / "in", tmp_path / "out"
    start()
    text = article_text("Chunked").encode()
    with open(content / "a.md", "wb") as f:
        for i in range(0, len(text), 16):
            f.write(text[i : i + 16])
            f.flush()
    wait_until(lambda: titles(out / "all.atom") == ["Chunked"], 2, "chunked write")


def test_unpublish_and_republish(tmp_path, start, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A", provider="Acme")
    start()
    write_article(content, "a.md", title="A", provider="Acme", published=False)
    wait_until(lambda: not (out / "providers/acme.rss").exists(), 2, "unpublish")
    write_article(content, "a.md", title="A", provider="Acme", published=True)
    wait_until(lambda: titles(out / "providers/acme.rss") == ["A"], 2, "re-publish")


def test_a_burst_of_1000_edits_settles_on_the_last_version(tmp_path, start, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    daemon = start()
    runs_before = daemon.board.runs
    for i in range(1000):
        write_article(
            content,
            f"{i % 50}.md",
            title=f"v{i}",
            day="2024-01-01",
            time=f"{i % 50 // 10:02d}:{i % 50 % 10:02d}:00Z",
        )
    expected = sorted(f"v{i}" for i in range(950, 1000))
    wait_until(lambda: sorted(titles(out / "all.atom")) == expected, 10, "last versions")
    assert daemon.board.runs - runs_before < 200  # batched, not one run per event


def test_a_future_dated_article_appears_on_time_without_a_file_event(
    tmp_path, start, write_article
):
    """The scheduler wakes the loop when the daemon's own clock reaches the next embargo.

    The daemon runs on a clock set in 2024 that ticks at the wall clock's pace, 1.5 s before
    an article's time: the wake-up comes when that clock reaches it (not at once because the
    time is in the wall clock's past, which would loop), and the article appears with no
    file event.
    """
    content, out = tmp_path / "in", tmp_path / "out"
    due = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    clock = RunningClock(due - timedelta(seconds=1.5))
    write_article(content, "later.md", title="Embargoed", day="2024-05-01", time="12:00:00Z")
    write_article(content, "now.md", title="Now", day="2024-04-01")
    daemon = start(clock=clock)
    assert titles(out / "all.atom") == ["Now"]
    shown = read_status(out)
    assert shown["last_run"]["at"].startswith("2024-05-01T11:59:5")  # it ran on our clock
    assert shown["scheduled"] == 1 and shown["next_due"] == due.isoformat()
    wait_until(lambda: "Embargoed" in titles(out / "all.atom"), 10, "embargo to end")
    assert sorted(titles(out / "all.atom")) == ["Embargoed", "Now"]
    wait_until(
        lambda: (
            read_status(out).get("next_due", "") is None
            and daemon.scheduler is not None
            and daemon.scheduler.get_job("publish") is None
        ),
        5,
        "no wake-up left once nothing is embargoed",
    )
    shown = read_status(out)  # the status is saved after the run's files are written
    assert shown["scheduled"] == 0
    came_out = datetime.fromisoformat(shown["last_run"]["at"])
    assert due <= came_out < due + timedelta(seconds=3)  # on time by the daemon's clock
    assert daemon.board.runs <= 3  # the first run and the wake-up: no loop of early wake-ups


def test_a_broken_file_keeps_its_last_good_version_and_is_reported_until_fixed(
    tmp_path, start, write_article
):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="Good")
    start()
    (content / "a.md").write_text("---\ntitle: [typo\n---\n")
    wait_until(
        lambda: read_status(out).get("files_in_error"), 2, "status to report the broken file"
    )
    assert titles(out / "all.atom") == ["Good"]
    write_article(content, "a.md", title="Fixed")
    wait_until(lambda: titles(out / "all.atom") == ["Fixed"], 2, "fix")
    wait_until(
        lambda: read_status(out)["files_in_error"] == [],
        2,
        "the status to clear (it is written just after the feeds)",
    )
    data = read_status(out)
    assert data["state"] == "running"
    verdict = status.judge(data, out)
    assert verdict.running and verdict.code == status.RUNNING
    assert "feedsync running" in status.describe(data, verdict, status_path(out), out)


def test_folders_moved_in_and_out_are_followed(tmp_path, start, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(tmp_path / "parked" / "batch", "a.md", title="Batch A")
    write_article(tmp_path / "parked" / "batch", "b.md", title="Batch B", day="2024-04-01")
    start()
    shutil.move(tmp_path / "parked" / "batch", content / "batch")
    wait_until(lambda: titles(out / "all.atom") == ["Batch A", "Batch B"], 2, "folder moved in")
    shutil.move(content / "batch", tmp_path / "gone")
    wait_until(lambda: titles(out / "all.atom") == [], 2, "folder moved out")


def test_the_reconcile_catches_what_the_watcher_missed(tmp_path, start, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    daemon = start()
    daemon.watcher.stop()  # blind: as if inotify overflowed
    write_article(content, "a.md", title="Missed")
    daemon.request_full()
    wait_until(lambda: titles(out / "all.atom") == ["Missed"], 3, "reconcile")
    assert daemon.watcher is not None and daemon.watcher.healthy()  # re-armed
    write_article(content, "b.md", title="Seen", day="2024-06-01")
    wait_until(lambda: titles(out / "all.atom") == ["Seen", "Missed"], 2, "re-armed watch")


def test_a_deleted_content_folder_keeps_the_feeds_is_reported_and_followed_when_back(
    tmp_path, start, write_article
):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A")
    start()
    shutil.rmtree(content)
    wait_until(
        lambda: "content_missing" in read_status(out).get("problems", {}),
        2,
        "the missing folder to be reported without waiting for the reconcile",
    )
    assert titles(out / "all.atom") == ["A"]  # nothing lost while it is gone
    verdict = status.judge(read_status(out), out)
    assert verdict.running and verdict.code == status.DEGRADED
    write_article(content, "b.md", title="B", day="2024-06-01")
    wait_until(lambda: titles(out / "all.atom") == ["B"], 3, "the new folder to be read")
    wait_until(
        lambda: "content_missing" not in read_status(out).get("problems", {}),
        2,
        "the report to clear",
    )
    write_article(content, "c.md", title="C", day="2024-07-01")
    wait_until(lambda: titles(out / "all.atom") == ["C", "B"], 2, "the new folder to be watched")


def test_a_folder_removed_during_the_quiet_wait_keeps_its_feeds(tmp_path, start, write_article):
    """rmtree deletes the files before the folder: when the folder is gone by the time the
    debounce is over, those deletions must not empty the feeds that are kept for it."""
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A")
    daemon = start(debounce_ms=400)
    (content / "a.md").unlink()
    wait_until(lambda: content / "a.md" in daemon._pending, 2, "the deletion to be seen")
    content.rmdir()
    wait_until(lambda: "content_missing" in read_status(out).get("problems", {}), 2, "the report")
    assert titles(out / "all.atom") == ["A"]
    write_article(content, "a.md", title="A")  # the folder is back as it was
    wait_until(
        lambda: "content_missing" not in read_status(out).get("problems", {}), 3, "the clearing"
    )
    assert titles(out / "all.atom") == ["A"]


def test_the_polling_watcher_works_too(tmp_path, start, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    daemon = start(watcher="polling", poll_seconds=0.1)
    assert daemon.watcher.kind == "polling"
    write_article(content, "a.md", title="Polled")
    wait_until(lambda: titles(out / "all.atom") == ["Polled"], 3, "polled change")


def test_native_watching_that_cannot_start_falls_back_to_polling(
    tmp_path, start, monkeypatch, caplog, write_article
):
    import feedsync.watcher as watcher_module

    def no_inotify(*args, **kwargs):
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watcher_module, "Observer", no_inotify)
    daemon = start(poll_seconds=0.1)
    assert daemon.watcher.kind == "polling"
    assert any("polling" in r.getMessage() for r in caplog.records)
    shown = read_status(tmp_path / "out")
    assert shown["watcher"] == "polling"
    assert "inotify watch limit reached" in shown["problems"]["watcher"]["error"]
    assert status.judge(shown, tmp_path / "out").code == status.DEGRADED
    write_article(tmp_path / "in", "a.md", title="Polled")
    wait_until(lambda: titles(tmp_path / "out/all.atom") == ["Polled"], 3, "polled change")


def test_reload_uses_a_good_configuration_and_keeps_the_old_one_on_a_bad(
    tmp_path, start, write_article, caplog
):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A")
    answers: list = []

    def reload():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    daemon = start(reload=reload)
    answers.append(FeedsyncError("base_url: 'nope' is not an absolute http(s) URL"))
    daemon.request_reload()
    wait_until(
        lambda: any("keeping the old one" in r.getMessage() for r in caplog.records),
        2,
        "bad configuration to be reported",
    )
    assert daemon.cfg.site_title == "feedsync"
    answers.append(
        config.load(
            None,
            {"content_dir": content, "output_dir": out, "debounce_ms": 50, "site_title": "Renamed"},
        )
    )
    daemon.request_reload()
    wait_until(lambda: b"<title>Renamed</title>" in (out / "all.rss").read_bytes(), 3, "reload")


def test_start_up_without_a_content_folder_fails_clearly(tmp_path):
    cfg = config.load(None, {"content_dir": tmp_path / "missing", "output_dir": tmp_path / "o"})
    with pytest.raises(FeedsyncError, match="does not exist"):
        Daemon(cfg).run()
    assert [t for t in threading.enumerate() if t.name.startswith("feedsync")] == []


def test_sigterm_mid_run_finishes_the_write_and_exits_0(tmp_path, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    for i in range(300):
        write_article(
            content, f"{i}.md", title=f"T{i}", topics=[f"Topic {i % 30}"], provider=f"P{i % 40}"
        )
    with feedsync_process(
        "run",
        "--content",
        str(content),
        "--output",
        str(out),
        "--pid-file",
        str(tmp_path / "pid"),
        stdout=(tmp_path / "log").open("w"),
        stderr=subprocess.STDOUT,
    ) as proc:
        wait_until(lambda: read_status(out).get("state") == "running", 20, "daemon start")
        assert int((tmp_path / "pid").read_text()) == proc.pid
        for i in range(100):  # keep it busy while the signal arrives
            write_article(content, f"{i}.md", title=f"Edit {i}", topics=[f"Topic {i % 30}"])
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = proc.wait(timeout=10)
        assert time.monotonic() - started < 5
        assert code == 0, (tmp_path / "log").read_text()
    assert not (tmp_path / "pid").exists()
    assert read_status(out)["state"] == "stopped"
    leftovers = [p for p in out.rglob(".feedsync-tmp-*")]
    assert leftovers == []
    for feed in out.rglob("*.rss"):
        assert not feedparser.parse(feed.read_bytes()).bozo, feed


def test_sighup_reloads_the_configuration_file(tmp_path, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A")
    cfg_file = tmp_path / "feedsync.yaml"
    cfg_file.write_text(f"content_dir: {content}\noutput_dir: {out}\nsite_title: First\n")
    with feedsync_process(
        "run",
        "--config",
        str(cfg_file),
        stdout=(tmp_path / "log").open("w"),
        stderr=subprocess.STDOUT,
    ) as proc:
        wait_until(
            lambda: (
                b"<title>First</title>" in (out / "all.rss").read_bytes()
                if (out / "all.rss").exists()
                else False
            ),
            20,
            "first run",
        )
        cfg_file.write_text(f"content_dir: {content}\noutput_dir: {out}\nsite_title: [broken\n")
        proc.send_signal(signal.SIGHUP)
        cfg_file.write_text(f"content_dir: {content}\noutput_dir: {out}\nsite_title: Second\n")
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: b"<title>Second</title>" in (out / "all.rss").read_bytes(), 5, "reload")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_an_unwritable_output_is_retried_with_backoff_and_old_feeds_stay(
    tmp_path, start, write_article, monkeypatch
):
    import feedsync.writer as writer_module

    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="Old")
    daemon = start()
    real = writer_module.stage
    failures = {"left": 2}

    def flaky(target, data):
        if target.suffix in (".rss", ".atom") and failures["left"] > 0:
            failures["left"] -= 1
            raise OSError(28, "No space left on device")
        return real(target, data)

    monkeypatch.setattr(writer_module, "stage", flaky)
    write_article(content, "a.md", title="New")
    wait_until(lambda: read_status(out).get("last_error"), 3, "the failure to be reported")
    assert titles(out / "all.atom") == ["Old"]
    wait_until(lambda: titles(out / "all.atom") == ["New"], 8, "the retry to succeed")
    wait_until(lambda: read_status(out)["last_error"] is None, 2, "the status to clear")
    assert daemon.board.runs >= 2


# -- a content folder replaced by a deploy is followed, not the inode it had ----------------------


def _release(folder: Path, write_article, titles_by_name: dict[str, str]) -> Path:
    for i, (name, title) in enumerate(sorted(titles_by_name.items())):
        write_article(folder, name, title=title, day=f"2024-05-{i + 1:02d}")
    return folder


def test_a_folder_renamed_into_place_is_followed_at_once_and_rereads_only_what_changed(
    tmp_path, start, write_article
):
    content, out = tmp_path / "in", tmp_path / "out"
    _release(content, write_article, {"a.md": "A", "b.md": "B", "c.md": "C"})
    daemon = start(reconcile_seconds=3600)  # no reconcile can be what finds the change
    shutil.copytree(content, tmp_path / "in.new")  # copy2: same mtimes, new inodes
    write_article(tmp_path / "in.new", "b.md", title="B, second release", day="2024-05-02")
    runs = daemon.board.runs
    started = time.monotonic()
    (content).rename(tmp_path / "in.old")
    (tmp_path / "in.new").rename(content)
    wait_until(
        lambda: "B, second release" in titles(out / "all.atom"),
        2,
        "the new folder's content in the feed within 2 s",
    )
    assert time.monotonic() - started < 2
    wait_until(
        lambda: (
            daemon.board.runs > runs
            and read_status(out).get("last_run", {}).get("files_read") is not None
        ),
        2,
        "the run's status",
    )
    assert read_status(out)["last_run"]["files_read"] == 1  # only the edited file, by stamps
    # The old folder is no longer ours: its edits must not count.
    runs = daemon.board.runs
    write_article(tmp_path / "in.old", "a.md", title="Edited in the old folder")
    write_article(content, "c.md", title="C, edited", day="2024-05-03")
    wait_until(lambda: "C, edited" in titles(out / "all.atom"), 2, "an edit in the new folder")
    assert "Edited in the old folder" not in titles(out / "all.atom")
    assert daemon.watcher is not None and daemon.watcher.healthy()


def test_a_symlinked_content_dir_is_watched_natively_and_a_swap_is_followed(
    tmp_path, start, write_article
):
    out = tmp_path / "out"
    one = _release(tmp_path / "release1", write_article, {"a.md": "One A", "b.md": "One B"})
    current = tmp_path / "current"
    current.symlink_to(one)
    daemon = start(content=current, reconcile_seconds=3600)
    assert daemon.watcher.kind == "native"
    write_article(one, "a.md", title="One A, edited", day="2024-05-01")
    wait_until(
        lambda: "One A, edited" in titles(out / "all.atom"),
        2,
        "an edit through the symlink (watchdog alone does not follow it)",
    )
    two = tmp_path / "release2"
    shutil.copytree(one, two)
    write_article(two, "c.md", title="Two C", day="2024-05-03")
    started = time.monotonic()
    (tmp_path / "current.tmp").symlink_to(two)
    subprocess.run(["mv", "-T", str(tmp_path / "current.tmp"), str(current)], check=True)
    wait_until(lambda: "Two C" in titles(out / "all.atom"), 2, "the swap within 2 s")
    assert time.monotonic() - started < 2
    assert read_status(out)["last_run"]["files_read"] == 1  # a.md and b.md kept their stamps
    write_article(one, "b.md", title="Edited in the old release", day="2024-05-02")
    write_article(two, "b.md", title="Two B", day="2024-05-02")
    wait_until(lambda: "Two B" in titles(out / "all.atom"), 2, "an edit in the new release")
    assert "Edited in the old release" not in titles(out / "all.atom")


def test_the_served_address_that_base_url_does_not_name_is_warned_about(
    tmp_path, write_article, caplog
):
    write_article(tmp_path / "in", "a.md")
    cfg = config.load(
        None,
        {
            "content_dir": tmp_path / "in",
            "output_dir": tmp_path / "out",
            "base_url": "https://feeds.example.org/",
        },
    )
    daemon = Daemon(cfg, serve=("127.0.0.1", 0))
    thread = threading.Thread(target=daemon.run)
    thread.start()
    try:
        assert daemon.ready.wait(10)
    finally:
        daemon.stop()
        thread.join(10)
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("but base_url is https://feeds.example.org/" in m for m in warned)


def test_a_reload_with_new_feed_settings_changes_only_the_feeds_they_name(
    tmp_path, start, write_article
):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A", topics=["AI"], provider="Acme")
    write_article(content, "b.md", title="B", topics=["Misc"], provider="Acme")
    settings = {"content_dir": content, "output_dir": out, "debounce_ms": 50}
    answers = [
        config.load(
            None,
            {
                **settings,
                "topic_feeds": {"exclude": ["misc"]},
                "custom_feeds": {"mine": {"title": "Mine", "topics": ["AI", "Misc"]}},
            },
        )
    ]
    daemon = start(reload=lambda: answers.pop(0))
    kept = {p: p.stat().st_mtime_ns for p in (out / "topics").glob("ai.*")}
    assert kept and (out / "topics/misc.atom").exists()
    daemon.request_reload()  # what SIGHUP does (test_sighup_reloads_the_configuration_file)
    wait_until(lambda: (out / "custom/mine.atom").exists(), 5, "the custom feed")
    wait_until(lambda: not (out / "topics/misc.atom").exists(), 5, "misc to go")
    assert titles(out / "custom/mine.atom") == ["B", "A"]
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert "Mine" in (out / "feeds.opml").read_text(encoding="utf-8")
