"""Operators' logs: text with time and level for the daemon, JSON lines for log pipelines."""

import json
import logging
import re
import signal
import subprocess

from feedsync import logs

from conftest import feedsync_command, feedsync_process, read_status, titles, wait_until

STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


def test_generate_can_log_one_json_object_per_line_with_the_files_fields(tmp_path, write_article):
    write_article(tmp_path / "in", "good.md", title="Good")
    (tmp_path / "in/bad.md").write_text(
        "---\ntitle: Bad\npublishedDateTime: 2024-13-01\nwebUrl: https://x.example/\n---\n"
    )
    done = subprocess.run(
        [
            *feedsync_command(),
            "generate",
            "--log-format",
            "json",
            "-v",
            "--content",
            str(tmp_path / "in"),
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    error = next(line for line in lines if line["level"] == "ERROR")
    assert error["path"] == str(tmp_path / "in/bad.md") and error["line"] == 3
    assert "publishedDateTime" in error["message"]
    wrote = [line for line in lines if line["message"].startswith("wrote ")]
    assert wrote and all(line["logger"] == "feedsync.files" and "path" in line for line in wrote)


def test_the_daemon_logs_a_summary_per_run_fixed_files_and_files_only_with_v(
    tmp_path, write_article
):
    content, out, log = tmp_path / "in", tmp_path / "out", tmp_path / "log"
    write_article(content, "a.md", title="A")
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
        (content / "a.md").write_text("---\ntitle: [typo\n---\n")
        wait_until(lambda: read_status(out).get("files_in_error"), 5, "the broken file")
        write_article(content, "a.md", title="A, fixed")
        wait_until(lambda: titles(out / "all.atom") == ["A, fixed"], 5, "the fix")
        wait_until(lambda: "fixed, no longer in error" in log.read_text(), 5, "the fix's line")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    lines = log.read_text().splitlines()
    assert lines and all(STAMPED.match(line) for line in lines), lines
    summaries = [line for line in lines if " files read, " in line]
    assert len(summaries) >= 3  # the first run, the broken file, the fix: one line each
    assert not [line for line in lines if " wrote " in line]  # files only with -v
    assert any(f"{content / 'a.md'}: fixed, no longer in error" in line for line in lines)


def test_the_journal_gets_no_time_of_ours(monkeypatch):
    record = logging.makeLogRecord({"msg": "hello %s", "args": ("there",), "levelname": "INFO"})
    assert STAMPED.match(logs.TextFormatter(stamped=True).format(record))
    assert logs.TextFormatter(stamped=False).format(record) == "INFO hello there"
    assert logs.TextFormatter(plain=True).format(record) == "hello there"
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        logs.setup(logging.INFO, service=True)
        assert root.handlers[0].format(record) == "INFO hello there"
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
