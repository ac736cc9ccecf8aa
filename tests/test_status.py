"""`feedsync status`: what an operator sees of a daemon that runs degraded, or does not run.

Real daemons (child processes), real file systems (a tmpfs remounted read-only), and the
`feedsync status` command itself as an operator runs it.
"""

import json
import os
import signal
import subprocess

from feedsync import status

from conftest import feedsync_command, feedsync_process, read_status, remount, titles, wait_until


def feedsync_status(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*feedsync_command(), "status", *args], capture_output=True, text=True, timeout=30
    )


def test_an_unwritable_output_shows_in_status_until_it_is_writable_again(
    tmp_path, small_disk, write_article
):
    content, out, log = tmp_path / "in", small_disk, tmp_path / "log"
    write_article(content, "a.md", title="Old")
    with feedsync_process(
        "run",
        "--content",
        str(content),
        "--output",
        str(out),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    ) as proc:
        wait_until(lambda: read_status(out).get("last_run"), 20, "the first run")
        assert feedsync_status("--output", str(out)).returncode == status.RUNNING
        remount(out, "ro")
        try:
            write_article(content, "a.md", title="New")
            wait_until(
                lambda: "output_unwritable" in read_status(out).get("problems", {}),
                5,
                "the daemon to record the unwritable output (outside the output)",
            )
            shown = feedsync_status("--output", str(out))
            assert shown.returncode == status.DEGRADED
            assert "DEGRADED: the output folder cannot be written since" in shown.stdout
            assert "Read-only file system" in shown.stdout
            as_json = json.loads(feedsync_status("--output", str(out), "--json").stdout)
            assert as_json["running"] is True and as_json["exit_code"] == status.DEGRADED
            assert "Read-only" in as_json["problems"]["output_unwritable"]["error"]
            assert titles(out / "all.atom") == ["Old"]
        finally:
            remount(out, "rw")
        wait_until(lambda: titles(out / "all.atom") == ["New"], 10, "the retry to catch up")
        wait_until(
            lambda: feedsync_status("--output", str(out)).returncode == status.RUNNING,
            5,
            "the status to clear",
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    text = log.read_text()
    assert "Read-only file system" in text and ".;" not in text


def test_a_rejected_reload_shows_in_status_even_with_the_broken_file(tmp_path, write_article):
    content, out, log = tmp_path / "in", tmp_path / "out", tmp_path / "log"
    write_article(content, "a.md", title="A")
    cfg_file = tmp_path / "feedsync.yaml"
    good = f"content_dir: {content}\noutput_dir: {out}\nsite_title: First\n"
    cfg_file.write_text(good)
    with feedsync_process(
        "run", "--config", str(cfg_file), stdout=log.open("w"), stderr=subprocess.STDOUT
    ) as proc:
        wait_until(lambda: read_status(out).get("last_run"), 20, "the first run")
        cfg_file.write_text(f"content_dir: {content}\noutput_dir: {out}\nsite_title: [broken\n")
        proc.send_signal(signal.SIGHUP)
        wait_until(
            lambda: "reload_rejected" in read_status(out).get("problems", {}),
            5,
            "the rejected reload to be recorded",
        )
        shown = feedsync_status("--config", str(cfg_file))  # as contrib/feedsync.service does
        assert shown.returncode == status.DEGRADED, shown.stderr
        assert f"feedsync running (pid {proc.pid}" in shown.stdout
        assert "DEGRADED: the last configuration reload was rejected" in shown.stdout
        assert "DEGRADED: the configuration file is broken" in shown.stdout
        assert "not valid YAML" in shown.stdout
        cfg_file.write_text(good.replace("First", "Second"))
        proc.send_signal(signal.SIGHUP)
        wait_until(
            lambda: b"<title>Second</title>" in (out / "all.rss").read_bytes(), 5, "the good reload"
        )
        wait_until(
            lambda: feedsync_status("--config", str(cfg_file)).returncode == status.RUNNING,
            5,
            "the status to clear",
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_not_running_exits_3_and_says_how_to_start(tmp_path):
    shown = feedsync_status("--output", str(tmp_path / "out"))
    assert shown.returncode == status.NOT_RUNNING
    assert "feedsync not running" in shown.stdout and "feedsync run" in shown.stdout


def test_status_into_a_closed_pipe_ends_quietly(tmp_path):
    """`feedsync status | head -1`: the reader went away; no traceback, like other tools."""
    read, write = os.pipe()
    os.close(read)
    with open(write, "w") as closed:
        done = subprocess.run(
            [*feedsync_command(), "status", "--output", str(tmp_path)],
            stdout=closed,
            stderr=subprocess.PIPE,
            text=True,
            timeout=30,
        )
    assert done.stderr == ""
    assert done.returncode in (-signal.SIGPIPE, 128 + signal.SIGPIPE)
