"""outputs: where each feed's files go, and what is in the output folder now."""

import logging

from feedsync import outputs
from feedsync.membership import ALL
from feedsync.model import FeedKind

TOPIC, PROVIDER = FeedKind.TOPIC, FeedKind.PROVIDER


def test_feeds_live_in_their_kinds_folder_and_everything_at_the_top():
    paths, notes = outputs.assign({TOPIC: {"ai"}, PROVIDER: {"acme news"}})
    assert paths == {
        ALL: "all",
        (TOPIC, "ai"): "topics/ai",
        (PROVIDER, "acme news"): "providers/acme-news",
    }
    assert notes == []


def test_the_feed_of_everything_exists_even_with_no_articles():
    assert outputs.assign({}) == ({ALL: "all"}, [])


def test_colliding_slugs_get_distinct_paths_and_a_note():
    paths, notes = outputs.assign({TOPIC: {"c++", "c  ++", "ai ethics", "ai-ethics"}})
    topic_paths = [p for ref, p in paths.items() if ref[0] is TOPIC]
    assert len(topic_paths) == len(set(topic_paths)) == 4
    assert "topics/c-plus-plus" in topic_paths and "topics/ai-ethics" in topic_paths
    assert len(notes) == 2 and all(n.startswith("topics: ") for n in notes)


def test_paths_stay_as_written_while_the_set_of_feeds_is_the_same():
    written = {ALL: "all", (TOPIC, "ai"): "topics/ai-2"}  # whatever was assigned before
    paths, moved = outputs.reassign(written, {TOPIC: {"ai"}, PROVIDER: set()})
    assert paths == written and moved == set()


def test_a_new_feed_reassigns_and_says_which_paths_moved(caplog):
    written = {ALL: "all", (TOPIC, "c++"): "topics/c-plus-plus"}
    with caplog.at_level(logging.WARNING):
        paths, moved = outputs.reassign(written, {TOPIC: {"c++", "c  ++"}})
    assert (TOPIC, "c  ++") in moved and paths[(TOPIC, "c  ++")] != paths[(TOPIC, "c++")]
    assert "topics:" in caplog.text


def test_files_changed_or_removed_behind_our_back_are_touched(tmp_path):
    (tmp_path / "topics").mkdir()
    (tmp_path / "all.rss").write_text("x")
    (tmp_path / "topics/ai.rss").write_text("x")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/x.rss").write_text("not ours to watch")
    found = outputs.on_disk(tmp_path)
    assert sorted(found) == ["all.rss", "topics/ai.rss"]
    recorded = dict(found)
    assert not outputs.touched("all.rss", found, recorded)
    (tmp_path / "all.rss").write_text("edited by someone")
    assert outputs.touched("all.rss", outputs.on_disk(tmp_path), recorded)
    (tmp_path / "topics/ai.rss").unlink()
    assert outputs.touched("topics/ai.rss", outputs.on_disk(tmp_path), recorded)


def test_in_the_top_folder_only_the_feed_of_everything_is_ours():
    assert all(outputs.ours(f"all.{e}") for e in ("rss", "atom", "json", "html"))
    assert all(outputs.ours(f"topics/ai.{e}") for e in ("rss", "atom", "json", "html"))
    # An operator's own files beside ours: a clean-up never removes them.
    for name in ("about.html", "manifest.json", "podcast.rss", "topics/notes.txt", "x/y.rss"):
        assert not outputs.ours(name), name


def test_an_operators_own_pages_in_the_output_folder_survive_every_kind_of_run(
    tmp_path, write_article
):
    from conftest import generate_once

    content, out = tmp_path / "in", tmp_path / "out"
    write_article(content, "a.md", topics=["AI"])
    out.mkdir()
    mine = {"about.html": b"<p>about</p>", "manifest.json": b"{}"}
    for name, data in mine.items():
        (out / name).write_bytes(data)
    generate_once(content, out, cache=False)  # a fresh index: the widest clean-up
    (out / "topics/gone.html").write_text("stale page of a feed that went")
    generate_once(content, out)  # a full walk
    assert {name: (out / name).read_bytes() for name in mine} == mine
    assert not (out / "topics/gone.html").exists()
