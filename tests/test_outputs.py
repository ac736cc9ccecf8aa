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
