"""changes: incremental runs (the daemon's path) give exactly what a fresh full run gives."""

import random
import shutil
from datetime import timedelta
from pathlib import Path

import feedparser

from feedsync import config, generate

from conftest import FIXED_NOW, article_text, tree

TOPICS = ["AI", "ai", "Robotics", "Open Source", "C++", "C ++", "Künstliche Intelligenz"]
PROVIDERS = ["Acme", "ACME", "Beta", "Gamma"]


def cfg(content: Path, out: Path, **settings):
    """Tombstones off: these runs are compared with a fresh run, which has no history of what
    left (tombstones are history by design: tests/test_tombstones.py)."""
    base = {"content_dir": content, "output_dir": out, "tombstone_days": 0}
    return config.load(None, {**base, **settings})


def fresh(content: Path, tmp: Path, now) -> dict[str, bytes]:
    out = tmp / "fresh"
    shutil.rmtree(out, ignore_errors=True)
    generate.run(cfg(content, out, max_items=5), now)
    return tree(out)


def random_article(rng: random.Random, title: str) -> str:
    return article_text(
        title,
        day=f"202{rng.randint(3, 6)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        published=rng.random() < 0.8,
        provider=rng.choice(PROVIDERS),
        topics=rng.sample(TOPICS, rng.randint(0, 3)) or None,
        quality=rng.randint(0, 100),
    )


def test_random_edits_applied_one_path_at_a_time_match_a_full_run(tmp_path):
    rng = random.Random(20261125)
    content, out = tmp_path / "in", tmp_path / "out"
    (content / "sub").mkdir(parents=True)
    c = cfg(content, out, max_items=5)
    state = generate.State()
    now = FIXED_NOW
    generate.run(c, now, state=state)
    names = [f"a{i}.md" for i in range(12)] + [f"sub/b{i}.md" for i in range(6)]
    for step in range(150):
        name = rng.choice([n for n in names if (content / n).parent.exists()])
        path = content / name
        action = rng.random()
        changed = [path]
        if action < 0.55:
            path.write_text(random_article(rng, f"T{step}"), encoding="utf-8")
        elif action < 0.7:
            path.unlink(missing_ok=True)
        elif action < 0.8 and path.exists():
            target = content / rng.choice([n for n in names if (content / n).parent.exists()])
            path.rename(target)
            changed.append(target)
        elif action < 0.85:
            now += timedelta(days=rng.randint(1, 400))  # time passes: embargoes end
            changed = []
        elif action < 0.9 and (content / "sub").exists():
            shutil.move(content / "sub", tmp_path / "parked")  # a folder moved out
            changed = [content / "sub"]
        elif (tmp_path / "parked").exists():
            shutil.move(tmp_path / "parked", content / "sub")  # and back in
            changed = [content / "sub"]
        generate.run(c, now, state=state, changed=changed)
        assert tree(out) == fresh(content, tmp_path, now), f"step {step}: {action:.2f} {name}"


def test_a_change_only_rewrites_the_feeds_it_shows_in(tmp_path, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A", topics=["AI"], provider="Acme")
    write_article(content, "b.md", title="B", topics=["Robotics"], provider="Beta")
    state = generate.State()
    generate.run(cfg(content, out), FIXED_NOW, state=state)
    write_article(content, "a.md", title="A2", topics=["AI"], provider="Acme")
    report = generate.run(cfg(content, out), FIXED_NOW, state=state, changed=[content / "a.md"])
    feeds = ("all", "providers/acme", "topics/ai")
    assert sorted(report.written) == sorted(
        [
            *(f"{p}.{e}" for p in feeds for e in ("rss", "atom", "json", "html")),
            # and the archive document of its month, in each of its feeds
            *(f"archive/{p}/2024-05.{e}" for p in feeds for e in ("rss", "atom")),
        ]
    )
    assert report.files_read == 1
    write_article(
        content, "a.md", title="A2", topics=["AI"], provider="Acme", heat=99, secured="other"
    )
    report = generate.run(cfg(content, out), FIXED_NOW, state=state, changed=[content / "a.md"])
    assert report.written == () and report.removed == ()


def test_a_file_broken_by_a_typo_keeps_its_last_good_version_until_fixed(tmp_path, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    good = write_article(content, "a.md", title="Good", topics=["AI"])
    state = generate.State()
    generate.run(cfg(content, out), FIXED_NOW, state=state)
    good.write_text("---\ntitle: [broken\n---\n")
    report = generate.run(cfg(content, out), FIXED_NOW, state=state, changed=[good])
    assert report.exit_code == 1 and report.written == ()
    assert [e.title for e in feedparser.parse((out / "topics/ai.atom").read_bytes()).entries] == [
        "Good"
    ]
    assert state.index.errors()  # still reported
    write_article(content, "a.md", title="Fixed", topics=["AI"])
    report = generate.run(cfg(content, out), FIXED_NOW, state=state, changed=[good])
    assert report.exit_code == 0 and not state.index.errors()
    assert [e.title for e in feedparser.parse((out / "topics/ai.atom").read_bytes()).entries] == [
        "Fixed"
    ]


def test_reconcile_reads_only_files_whose_stamp_changed(tmp_path, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    for i in range(5):
        write_article(content, f"{i}.md", title=f"T{i}")
    state = generate.State()
    assert generate.run(cfg(content, out), FIXED_NOW, state=state).files_read == 5
    write_article(content, "3.md", title="Changed")
    report = generate.run(cfg(content, out), FIXED_NOW, state=state)
    assert report.files_read == 1 and "all.atom" in report.written


def test_reconcile_restores_feed_files_deleted_behind_its_back(tmp_path, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", title="A", topics=["AI"])
    state = generate.State()
    generate.run(cfg(content, out), FIXED_NOW, state=state)
    (out / "topics/ai.rss").unlink()
    report = generate.run(cfg(content, out), FIXED_NOW, state=state)
    assert report.written == ("topics/ai.rss",)


def test_a_cancelled_run_writes_nothing(tmp_path, write_article):
    import pytest

    write_article(tmp_path / "in", "a.md", title="A")
    with pytest.raises(generate.Interrupted):
        generate.run(cfg(tmp_path / "in", tmp_path / "out"), FIXED_NOW, cancel=lambda: True)
    assert not (tmp_path / "out").exists()
