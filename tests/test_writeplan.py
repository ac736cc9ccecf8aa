"""The write plan: feeds go out in batches, listings after the feeds, and each kind of run
removes exactly what it knows to be stale."""

from __future__ import annotations

import os
from pathlib import Path

from feedsync import writeplan
from feedsync.outputs import on_disk
from feedsync.writeplan import Output
from feedsync.writer import TEMP_PREFIX


def feed(name: str, text: str = "x") -> bytes:
    return f"<{name} {text}/>".encode()


def test_a_full_batch_leaves_memory_at_once_but_readers_see_it_only_when_the_run_ends(
    tmp_path: Path,
) -> None:
    plan = Output(tmp_path)
    names = [f"topics/t{i}.atom" for i in range(writeplan.WRITE_BATCH)]
    for name in names[:-1]:
        plan.add(name, feed(name))
        plan.batch_done()
    assert not (tmp_path / "topics").exists(), "staged before the batch was full"

    plan.add(names[-1], feed(names[-1]))
    plan.batch_done()

    assert plan.files == {}  # the bytes are on disk, in temp files beside their targets
    staged = sorted(p.name for p in (tmp_path / "topics").iterdir())
    assert len(staged) == len(names) and all(n.startswith(TEMP_PREFIX) for n in staged)
    assert all(plan.has(n) for n in names)
    assert not plan.has("topics/other.atom")

    outcome = plan.finish(set())

    assert sorted(outcome.written) == sorted(names)
    assert sorted(p.name for p in (tmp_path / "topics").iterdir()) == sorted(
        n.split("/")[1] for n in names
    )
    assert (tmp_path / names[0]).read_bytes() == feed(names[0])


def test_a_run_that_fails_part_way_publishes_nothing_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch
) -> None:
    from feedsync import writer

    (tmp_path / "topics").mkdir()
    (tmp_path / "topics/t0.atom").write_bytes(b"old")
    plan = Output(tmp_path)
    for i in range(writeplan.WRITE_BATCH):
        plan.add(f"topics/t{i}.atom", feed(str(i)))
    plan.batch_done()
    real = writer.stage

    def full(target, data):
        if target.name == "all.atom":
            raise OSError(28, "No space left on device")
        return real(target, data)

    monkeypatch.setattr(writer, "stage", full)
    plan.add("all.atom", feed("all"))
    try:
        plan.finish(set())
    except Exception as exc:
        assert "No space left" in str(exc)
    else:
        raise AssertionError("the failure was not reported")
    assert [p.name for p in (tmp_path / "topics").iterdir()] == ["t0.atom"]
    assert (tmp_path / "topics/t0.atom").read_bytes() == b"old"
    assert plan.present() == set()


def test_listings_are_written_after_every_feed(tmp_path: Path) -> None:
    plan = Output(tmp_path)
    for name in ("index.html", "feeds.opml", "all.atom", "topics/ai.rss", "all.rss"):
        plan.add(name, feed(name))

    outcome = plan.finish(set())

    assert outcome.written[-2:] == ("feeds.opml", "index.html")
    assert set(outcome.written[:-2]) == {"all.atom", "all.rss", "topics/ai.rss"}


def test_a_file_with_the_same_bytes_is_not_rewritten(tmp_path: Path) -> None:
    first = Output(tmp_path)
    first.add("all.atom", feed("all"))
    first.add("all.rss", feed("all"))
    first.finish(set())
    before = os.stat(tmp_path / "all.atom")

    again = Output(tmp_path)
    again.add("all.atom", feed("all"))
    again.add("all.rss", feed("all", "changed"))
    outcome = again.finish(set())

    assert outcome.unchanged == ("all.atom",)
    assert outcome.written == ("all.rss",)
    after = os.stat(tmp_path / "all.atom")
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def populate(out: Path) -> None:
    """An output folder from an earlier run, with things that are not ours beside it."""
    (out / "topics").mkdir(parents=True)
    for name in ("all.atom", "topics/gone.atom", "topics/kept.atom", "index.html"):
        (out / name).write_bytes(feed(name))
    (out / "notes.txt").write_text("the operator's own file")
    (out / "topics" / ".hidden.atom").write_text("a dot file is never ours")
    (out / "topics" / f"{TEMP_PREFIX}left-behind").write_text("a killed run's temp file")


def test_a_fresh_index_clears_everything_of_ours_no_feed_wants(tmp_path: Path) -> None:
    populate(tmp_path)
    plan = Output(tmp_path)
    plan.add("all.atom", feed("all", "new"))

    outcome = plan.finish_fresh({"all.atom", "topics/kept.atom"})

    assert outcome.removed == ("topics/gone.atom",), "ours means a feed suffix, not a listing"
    assert not (tmp_path / "topics" / "gone.atom").exists()
    assert not (tmp_path / "topics" / f"{TEMP_PREFIX}left-behind").exists()
    assert (tmp_path / "topics" / "kept.atom").exists()
    assert (tmp_path / "notes.txt").exists()
    assert (tmp_path / "topics" / ".hidden.atom").exists()
    assert (tmp_path / "all.atom").read_bytes() == feed("all", "new")


def test_a_full_walk_cleans_up_from_the_listing_it_already_has(tmp_path: Path) -> None:
    populate(tmp_path)
    listing = on_disk(tmp_path)
    (tmp_path / "topics" / "later.atom").write_bytes(b"appeared after the listing")
    plan = Output(tmp_path)
    plan.add("topics/new.atom", feed("new"))
    plan.flush()  # a feed written in an earlier batch is wanted, not stale
    plan.add("all.atom", feed("all.atom"))  # the same bytes as before

    outcome = plan.finish_full({"topics/kept.atom"}, listing)

    assert set(outcome.removed) == {"topics/gone.atom"}, "temp files are not counted"
    assert not (tmp_path / "topics" / f"{TEMP_PREFIX}left-behind").exists()
    assert (tmp_path / "topics" / "new.atom").exists()
    assert (tmp_path / "topics" / "kept.atom").exists()
    assert (tmp_path / "topics" / "later.atom").exists(), "only the listing is acted on"
    assert (tmp_path / "notes.txt").exists()
    assert outcome.written == ("topics/new.atom",)
    assert outcome.unchanged == ("all.atom",)


def test_an_incremental_run_removes_only_what_it_is_told(tmp_path: Path) -> None:
    populate(tmp_path)
    plan = Output(tmp_path)
    plan.add("topics/kept.atom", feed("kept", "moved here"))

    outcome = plan.finish({"topics/gone.atom", "topics/kept.atom", "topics/never.atom"})

    assert outcome.removed == ("topics/gone.atom",)
    assert (tmp_path / "topics" / "kept.atom").read_bytes() == feed("kept", "moved here")
    assert (tmp_path / "topics" / f"{TEMP_PREFIX}left-behind").exists()
    assert (tmp_path / "index.html").exists()
