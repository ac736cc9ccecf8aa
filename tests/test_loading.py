"""loading: files -> store rows, one at a time or in worker processes; the same either way."""

from __future__ import annotations

import logging

from feedsync import config, generate, loading
from feedsync.model import Severity

from conftest import FIXED_NOW, tree


def folder(tmp_path, write_article, count=40):
    content = tmp_path / "in"
    for i in range(count):
        write_article(
            content / str(i % 4),
            f"a{i:03d}.md",
            title=f"Ärticle {i} <&>",
            day=f"2024-0{1 + i % 9}-1{i % 10}",
            topics=[f"Topic {i % 5}", "Shared"],
            provider=f"Provider {i % 3}",
        )
    (content / "0/broken.md").write_text("---\ntitle: [unclosed\n---\n")
    return content


def test_a_cold_run_above_the_threshold_reads_in_worker_processes_with_the_same_output(
    tmp_path, write_article, caplog
):
    content = folder(tmp_path, write_article)
    serial = config.load(None, {"content_dir": content, "output_dir": tmp_path / "serial"})
    pooled = config.load(
        None,
        {"content_dir": content, "output_dir": tmp_path / "pooled", "parallel_min_files": 8},
    )
    one = generate.run(serial, FIXED_NOW, parallel=True)  # 41 files: below 2,000, no pool
    assert "worker processes" not in caplog.text
    with caplog.at_level(logging.DEBUG, logger="feedsync.loading"):
        many = generate.run(pooled, FIXED_NOW, parallel=True)
    assert "reading 41 files in" in caplog.text and "worker processes" in caplog.text
    assert tree(tmp_path / "serial") == tree(tmp_path / "pooled")
    assert (many.files_read, many.published, many.feeds) == (
        one.files_read,
        one.published,
        one.feeds,
    )
    # A bad file read by a worker is reported by the parent like any other, with file and line.
    errors = [p for p in many.problems if p.severity is Severity.ERROR]
    assert [p.path.name for p in errors] == ["broken.md"] and errors[0].line is not None
    assert errors == [p for p in one.problems if p.severity is Severity.ERROR]


def test_a_run_below_the_threshold_or_not_parallel_reads_in_this_process(tmp_path, write_article):
    content = folder(tmp_path, write_article, count=3)
    cfg = config.load(None, {"content_dir": content, "parallel_min_files": 1})
    paths = sorted((p, p.relative_to(content).as_posix()) for p in content.rglob("*.md"))
    loaded = list(loading.load_all(paths, cfg, parallel=False, renderer=None))
    assert [source for _, source, _, _, _ in loaded] == [s for _, s in paths]
    rows = [row for _, _, _, row, _ in loaded if row is not None]
    assert len(rows) == 3 and all(row.rendered is None for row in rows)  # no renderer given


def test_one_file_that_raises_unexpectedly_is_a_problem_not_a_failed_run(tmp_path):
    missing = tmp_path / "gone.md"  # vanished between the walk and the read
    cfg = config.load(None, {"content_dir": tmp_path})
    path, source, stamp, row, problems = loading.load_row(missing, cfg)
    assert (source, stamp, row) == ("gone.md", None, None)
    assert problems and problems[0].path == missing
