"""One writer per output folder: real processes contend for the lock on the folder."""

import os
import signal
import subprocess
import sys
import time

import pytest

from feedsync import instance, status

from conftest import feedsync_command, feedsync_process, read_status, wait_until


def _run(tmp_path, content, out, name, *extra):
    return feedsync_process(
        "run",
        "--content",
        str(content),
        "--output",
        str(out),
        *extra,
        stdout=(tmp_path / name).open("w"),
        stderr=subprocess.STDOUT,
    )


def test_a_second_daemon_on_the_same_output_exits_2_naming_the_first(tmp_path, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A")
    pid_file = tmp_path / "feedsync.pid"
    with _run(tmp_path, content, out, "first.log", "--pid-file", str(pid_file)) as first:
        wait_until(lambda: read_status(out).get("last_run"), 20, "the first daemon's first run")
        started = time.monotonic()
        second = subprocess.run(
            [
                *feedsync_command(),
                "run",
                "--content",
                str(content),
                "--output",
                str(out),
                "--pid-file",
                str(pid_file),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 2
        assert time.monotonic() - started < 5  # at once, not after a wait
        assert f"pid {first.pid}" in second.stderr and f"kill {first.pid}" in second.stderr
        assert pid_file.read_text() == f"{first.pid}\n"  # the first one's pid file is untouched
        # The second one left the first one's status alone: it still says who runs.
        shown = subprocess.run(
            [*feedsync_command(), "status", "--output", str(out)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert shown.returncode == status.RUNNING, shown.stdout
        assert f"feedsync running (pid {first.pid}" in shown.stdout
        # A generate is refused at once too: the daemon never lets go.
        gen = subprocess.run(
            [*feedsync_command(), "generate", "--content", str(content), "--output", str(out)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert gen.returncode == 2 and f"pid {first.pid}" in gen.stderr
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=10) == 0


def test_a_daemon_killed_by_sigkill_is_not_running_and_a_new_one_can_start(tmp_path, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A")
    with _run(tmp_path, content, out, "first.log") as first:
        wait_until(lambda: read_status(out).get("last_run"), 20, "the first run")
        first.kill()
        first.wait()
    assert read_status(out)["state"] == "running"  # what the file says: it could not update it
    shown = subprocess.run(
        [*feedsync_command(), "status", "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert shown.returncode == status.NOT_RUNNING
    assert "not running (its process is gone" in shown.stdout
    with _run(tmp_path, content, out, "second.log") as second:
        wait_until(
            lambda: read_status(out).get("pid") == second.pid and read_status(out).get("last_run"),
            20,
            "the second daemon",
        )
        assert instance.holder(out) == second.pid
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=10) == 0


def test_a_status_whose_pid_was_reused_is_not_running(tmp_path, write_article):
    """A pid alone proves nothing (pids are reused): the pid must hold the lock."""
    out = tmp_path / "out"
    out.mkdir()
    data = {"state": "running", "pid": os.getpid(), "last_run": {}}
    verdict = status.judge(data, out)
    assert not verdict.running and verdict.code == status.NOT_RUNNING


HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_generate_waits_for_another_writer_then_runs(tmp_path, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A")
    out.mkdir()
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out), "1.5"], stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        gen = subprocess.run(
            [*feedsync_command(), "generate", "--content", str(content), "--output", str(out)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        waited = time.monotonic() - started
        holder.wait(10)
    assert gen.returncode == 0, gen.stderr
    assert waited >= 1.0  # it did not write while the other held the folder
    assert (out / "all.atom").is_file()


def test_a_writer_that_never_finishes_is_named_after_the_wait(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out), "30"], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout.readline().strip() == "held"
            started = time.monotonic()
            with pytest.raises(instance.Busy, match=f"pid {holder.pid}"):
                instance.acquire(out, wait=0.5)
            assert time.monotonic() - started >= 0.5
            with pytest.raises(instance.Busy):  # one not worth waiting for: at once
                instance.acquire(out, wait=30, give_way=lambda pid: pid == holder.pid)
        finally:
            holder.kill()
    with instance.acquire(out):  # released when its holder died
        assert instance.holder(out) == os.getpid()
