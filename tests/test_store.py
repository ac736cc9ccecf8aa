"""store: the SQLite index that remembers files, articles and feed members between runs.

Every test uses a real index (in memory, or a real cache file for recovery) and real
articles; writes happen inside `begin()`, as `generate.run` does. What a feed is called and
what it shows are `membership`'s and `select`'s rules: the index must agree with them.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from feedsync import config, membership, select, store
from feedsync.membership import ALL
from feedsync.model import Article, Feed, FeedKind, Image, Listing, Problem, Provider, Severity
from feedsync.store import Index, schema
from feedsync.store.rows import (
    decode_article,
    decode_listing,
    decode_problems,
    encode_article,
    encode_listing,
    encode_problems,
    row_of,
)

NOW = datetime(2025, 6, 1, 12, tzinfo=timezone.utc)
AI = (FeedKind.TOPIC, "ai")
SPACE = (FeedKind.TOPIC, "space")
ACME = (FeedKind.PROVIDER, "acme")
BETA = (FeedKind.PROVIDER, "beta")


def art(
    name: str,
    *,
    days_ago: float = 1,
    topics: tuple[str, ...] = (),
    provider: str | None = "Acme",
    published: bool = True,
    id_: str | None = None,
    title: str | None = None,
) -> Article:
    """An article from file `name`.md, published `days_ago` days before NOW (negative: later)."""
    when = NOW - timedelta(days=days_ago)
    return Article(
        id=id_ or f"urn:{name}",
        source=f"{name}.md",
        title=title or name.title(),
        summary=f"About {name}.",
        link=f"https://news.example.com/{name}",
        published_at=when,
        updated_at=when,
        published=published,
        provider=Provider(provider, f"{provider.lower()}.example") if provider else None,
        topics=topics,
    )


def put(index: Index, article: Article, stamp: int = 1) -> set:
    """Store `article` as read from its file, as the pipeline does; the feeds that changed."""
    dirty, conflicts = index.set_record(
        article.source, Path(article.source), (stamp, 100, stamp), row_of(article), ()
    )
    assert conflicts == []
    return dirty


def ids(index: Index, ref) -> list[str]:
    return [m.id for m in index.members(ref)]


@pytest.fixture
def index() -> Iterator[Index]:
    """A private index, begun as a run begins it; closed after the test."""
    found = Index()
    found.begin()
    try:
        yield found
    finally:
        found.close()


# -- rows: how articles, listings and problems are packed ----------------------------------------


def test_an_article_comes_back_from_its_packed_form_exactly():
    when = datetime(2024, 2, 29, 23, 59, 30, 123456, tzinfo=timezone.utc)
    full = Article(
        id="urn:uuid:1234",
        source="sub/Ünïcode → file.md",
        title="Künstliche Intelligenz: 机器学习 & <tags>",
        summary="Line one\nline two — with “quotes”",
        link="https://news.example.com/ü?x=1&y=2",
        published_at=when,
        updated_at=when + timedelta(hours=1),
        published=True,
        provider=Provider("Ĉu News", None),
        topics=("AI", "Open Source", "C++"),
        images=(Image("https://img.example/a.png", None, None), Image("https://i/b", 640, 480)),
    )
    bare = Article("x", "x.md", "X", "", "https://x/", when, when, False)  # provider None, no lists

    for article in (full, bare):
        back = decode_article(encode_article(article))
        assert back == article
        assert back.published_at.tzinfo is not None  # still an aware time, same instant
        assert type(back.topics) is tuple and type(back.images) is tuple


def test_a_listing_comes_back_from_its_packed_form_with_its_feed_and_path():
    a, b = art("a", days_ago=2, topics=("AI",)), art("b", days_ago=1, topics=("AI",))
    listing = Listing.of(Feed(FeedKind.TOPIC, "ai", "AI", "topics/ai", (b, a)))
    empty = Listing.of(Feed(FeedKind.ALL, "", "", "all", ()))

    assert decode_listing(AI, "topics/ai", encode_listing(listing)) == listing
    assert decode_listing(ALL, "all", encode_listing(empty)) == empty
    assert empty.newest is None and empty.updated is None


def test_problems_come_back_from_their_packed_form_and_none_pack_to_nothing():
    problems = (
        Problem(Path("sub/ä.md"), 3, "title: missing"),
        Problem(Path("b.md"), None, "topics: repaired", Severity.WARNING),
    )
    assert decode_problems(encode_problems(problems)) == problems
    assert encode_problems(()) is None and decode_problems(None) == ()


def test_a_draft_row_is_in_no_feed_and_a_published_row_in_all_its_topics_once_and_its_provider():
    draft = row_of(art("d", topics=("AI",), published=False))
    assert draft.refs == () and not draft.published

    row = row_of(art("p", topics=("AI", "Space", "ai"), provider="Acme"))
    assert row.refs == (
        ("all:", ""),
        ("topic:ai", "AI"),
        ("topic:space", "Space"),
        ("provider:acme", "Acme"),
    )
    assert row.rank == select.rank(NOW - timedelta(days=1))
    assert row.domain == "acme.example"
    assert row_of(art("p", topics=("AI",))).digest != row_of(art("p", topics=("Space",))).digest


# -- the index: membership ----------------------------------------------------------------------


def test_storing_an_article_reports_the_feeds_whose_membership_changed(index):
    a = art("a", topics=("AI",), provider="Acme")
    assert put(index, a) == {ALL, AI, ACME}
    assert put(index, a, stamp=2) == set()  # read again, unchanged: no feed moved

    moved = art("a", topics=("Space",), provider="Beta")
    assert put(index, moved, stamp=3) == {ALL, AI, SPACE, ACME, BETA}  # left two, joined two
    assert index.refs() == {ALL, SPACE, BETA}
    assert put(index, art("a", topics=("Space",), provider="Beta", published=False)) == {
        ALL,
        SPACE,
        BETA,
    }
    assert index.refs() == set()  # a draft is in no feed


def test_members_come_newest_first_with_ties_by_id_scheduled_ones_included(index):
    for article in (
        art("old", days_ago=30),
        art("tie-b", days_ago=5),
        art("tie-a", days_ago=5),
        art("later", days_ago=-10),  # scheduled: still a member
        art("new", days_ago=1),
    ):
        put(index, article)

    members = list(index.members(ALL))
    assert [m.id for m in members] == ["urn:later", "urn:new", "urn:tie-a", "urn:tie-b", "urn:old"]
    assert members == sorted(members, key=select.order_key)
    assert [m.id for m in select.shown(index.members(ALL), NOW, 2)] == ["urn:new", "urn:tie-a"]


def test_members_carry_what_plans_need_without_the_article_text(index):
    a = art("a", topics=("Open Source", "AI"))
    put(index, a)
    (member,) = index.members((FeedKind.TOPIC, "open source"))
    assert member.source == "a.md" and member.domain == "acme.example"
    assert member.topics == ("open source", "ai")  # keys, in the article's order
    assert member.digest == row_of(a).digest
    assert index.article("a.md") == a


def test_an_id_already_held_by_another_file_is_a_conflict_and_left_out(index):
    put(index, art("first", id_="urn:same", title="First"))
    second = art("second", id_="urn:same", title="Second")

    dirty, (conflict,) = index.set_record(
        "second.md", Path("/content/second.md"), (1, 1, 1), row_of(second), ()
    )

    assert dirty == set()
    assert conflict.severity is Severity.ERROR
    assert conflict.path == Path("/content/second.md") and "first.md" in conflict.reason
    assert [m.source for m in index.members(ALL)] == ["first.md"]
    assert index.errors() == [conflict]
    assert index.known()["second.md"].error


def test_a_file_earlier_by_path_takes_the_id_whichever_is_read_first(index):
    put(index, art("b", id_="urn:same", title="B"))
    a = art("a", id_="urn:same", title="A")

    dirty, (conflict,) = index.set_record("a.md", Path("/content/a.md"), (1, 1, 1), row_of(a), ())

    assert ALL in dirty
    assert [m.source for m in index.members(ALL)] == ["a.md"]
    assert conflict.path == Path("/content/b.md") and "already used by a.md" in conflict.reason
    assert index.errors() == [conflict]
    assert index.known()["b.md"].error and not index.known()["a.md"].error


def test_when_the_holder_of_an_id_goes_the_files_that_asked_for_it_are_read_again(index):
    put(index, art("a", id_="urn:same"))
    for name in ("b", "c"):
        index.set_record(
            f"{name}.md", Path(f"{name}.md"), (1, 1, 1), row_of(art(name, id_="urn:same")), ()
        )
    assert index.reread == set()

    index.forget("a.md")

    assert index.reread == {"b.md", "c.md"}


def test_an_id_given_up_by_an_edit_is_offered_again(index):
    put(index, art("a", id_="urn:same"))
    index.set_record("b.md", Path("b.md"), (1, 1, 1), row_of(art("b", id_="urn:same")), ())

    put(index, art("a", id_="urn:other"), stamp=2)

    assert index.reread == {"b.md"}


def test_a_file_that_becomes_unreadable_keeps_its_last_good_article_and_is_reported(index):
    good = art("a", topics=("AI",))
    put(index, good)
    problem = Problem(Path("/content/a.md"), 2, "front matter is not valid YAML")

    dirty, conflicts = index.set_record("a.md", Path("/content/a.md"), (9, 9, 9), None, (problem,))

    assert dirty == set() and conflicts == []
    assert ids(index, AI) == ["urn:a"] and index.article("a.md") == good
    assert index.errors() == [problem]
    assert index.known()["a.md"].error and index.known()["a.md"].stamp == (9, 9, 9)


def test_a_file_in_error_read_back_clean_is_listed_as_fixed(index):
    a = art("a")
    put(index, a)
    index.set_record("a.md", Path("a.md"), (2, 2, 2), None, (Problem(Path("a.md"), 1, "bad"),))
    assert index.fixed == []

    put(index, a, stamp=3)

    assert index.fixed == ["a.md"]
    assert index.errors() == [] and not index.known()["a.md"].error


def test_a_warning_alone_keeps_the_article_and_is_not_an_error(index):
    a = art("a")
    warning = Problem(Path("a.md"), 4, "topics: repaired", Severity.WARNING)
    index.set_record("a.md", Path("a.md"), (1, 1, 1), row_of(a), (warning,))
    assert ids(index, ALL) == ["urn:a"]
    assert index.errors() == [warning] and not index.known()["a.md"].error


def test_a_forgotten_file_leaves_every_feed_and_its_problems_go_with_it(index):
    put(index, art("a", topics=("AI", "Space")))
    put(index, art("b", topics=("AI",), provider="Beta"))
    index.set_record("bad.md", Path("bad.md"), None, None, (Problem(Path("bad.md"), 1, "x"),))

    assert index.forget("a.md") == {ALL, AI, SPACE, ACME}
    assert index.forget("bad.md") == set()
    assert index.forget("never-seen.md") == set()

    assert ids(index, ALL) == ids(index, AI) == ["urn:b"]
    assert ids(index, SPACE) == [] and ids(index, ACME) == []
    assert index.refs() == {ALL, AI, BETA}
    assert set(index.known()) == {"b.md"} and index.errors() == []


def test_a_feed_is_named_by_the_majority_spelling_as_articles_come_and_go(index):
    put(index, art("a", topics=("AI",)))
    assert index.name(AI) == index.topic_name("ai") == "AI"
    put(index, art("b", topics=("ai",)))
    assert index.name(AI) == "AI"  # a tie goes to the smallest spelling
    put(index, art("c", topics=("ai",)))
    assert index.name(AI) == "ai"
    index.forget("c.md")
    assert index.name(AI) == "AI"
    index.forget("a.md")
    assert index.name(AI) == "ai"
    index.forget("b.md")
    assert index.name(AI) == ""  # a feed with no members has no name
    assert index.name(AI) == membership.name({})


def test_a_topic_renamed_by_a_new_article_touches_every_feed_showing_that_label(index):
    put(index, art("a", topics=("AI",), provider="Acme"))
    put(index, art("b", topics=("ai", "Space"), provider="Beta"))

    # "c" tips the name to "ai": a's provider feed shows the label too, so it changes.
    dirty = put(index, art("c", topics=("ai",), provider=None))

    assert index.name(AI) == "ai"
    assert dirty == {ALL, AI, ACME, BETA, SPACE}


def test_provider_feeds_are_named_by_their_majority_spelling_too(index):
    put(index, art("a", provider="ACME"))
    put(index, art("b", provider="Acme"))
    put(index, art("c", provider="Acme"))
    assert index.name(ACME) == "Acme"
    assert index.name(ALL) == ""


# -- the index: visibility at `now`, as select decides it ---------------------------------------


@pytest.fixture
def timeline(index) -> Index:
    """One article a day ago, one exactly at NOW, two scheduled (in 1 and 10 days)."""
    put(index, art("past", days_ago=1, topics=("AI",), provider="Acme"))
    put(index, art("at-now", days_ago=0, topics=("AI",), provider="Acme"))
    put(index, art("soon", days_ago=-1, topics=("Space",), provider="Beta"))
    put(index, art("much-later", days_ago=-10, topics=("Space",), provider="Beta"))
    return index


def test_what_the_index_counts_as_visible_is_what_select_shows(timeline):
    feeds = (ALL, AI, SPACE, ACME, BETA)
    for now in (NOW - timedelta(days=2), NOW, NOW + timedelta(days=1), NOW + timedelta(days=30)):
        showing = {ref for ref in feeds if select.shown(timeline.members(ref), now, None)}
        assert {ref for ref in feeds if timeline.has_visible(ref, now)} == showing, now
        assert timeline.existing(now) == {
            kind: {key for k, key in showing if k is kind}
            for kind in (FeedKind.TOPIC, FeedKind.PROVIDER)
        }, now
        visible = len(select.shown(timeline.members(ALL), now, None))
        assert timeline.counts(now) == (visible, 4 - visible), now


def test_an_article_published_exactly_now_is_visible_and_not_scheduled(timeline):
    assert timeline.counts(NOW) == (2, 2)
    assert timeline.counts(NOW - timedelta(microseconds=1)) == (1, 3)
    assert timeline.existing(NOW) == {FeedKind.TOPIC: {"ai"}, FeedKind.PROVIDER: {"acme"}}
    assert not timeline.has_visible(SPACE, NOW)


def test_the_next_article_due_is_the_earliest_still_scheduled(timeline):
    assert timeline.next_due(NOW) == (NOW + timedelta(days=1)).timestamp()
    assert timeline.next_due(NOW - timedelta(days=1)) == NOW.timestamp()  # "at-now" comes next
    assert timeline.next_due(NOW + timedelta(days=1)) == (NOW + timedelta(days=10)).timestamp()
    assert timeline.next_due(NOW + timedelta(days=10)) is None


def test_feeds_due_between_two_times_are_those_of_articles_that_came_out_in_between(timeline):
    soon = NOW + timedelta(days=1)
    assert timeline.due_between(NOW, soon) == {ALL, SPACE, BETA}  # "soon", at its second
    assert timeline.due_between(soon, NOW) == {ALL, SPACE, BETA}  # the clock went back
    assert timeline.due_between(NOW, soon - timedelta(microseconds=1)) == set()
    assert timeline.due_between(NOW - timedelta(seconds=1), NOW) == {ALL, AI, ACME}
    assert timeline.due_between(NOW, NOW) == set()
    for earlier, later in ((NOW, soon), (NOW - timedelta(days=2), NOW + timedelta(days=30))):
        changed = {
            ref
            for ref in (ALL, AI, SPACE, ACME, BETA)
            if select.shown(timeline.members(ref), earlier, None)
            != select.shown(timeline.members(ref), later, None)
        }
        assert timeline.due_between(earlier, later) == changed


# -- the index: what was written, and transactions ----------------------------------------------


def test_listings_give_back_what_was_stored_for_each_written_feed(index):
    a = art("a", topics=("AI",))
    topic = Listing.of(Feed(FeedKind.TOPIC, "ai", "AI", "topics/ai", (a,)))
    everything = Listing.of(Feed(FeedKind.ALL, "", "", "all", (a,)))
    index.set_feed(AI, "topics/ai", b"fp1", encode_listing(topic))
    index.set_feed(ALL, "all", b"fp2", encode_listing(everything))
    index.set_feed(SPACE, "topics/space", None, None)  # known, not written yet: not listed

    assert sorted(index.listings(), key=lambda x: x.path) == [everything, topic]
    assert index.feeds()[AI].fingerprint == b"fp1"

    index.drop_feed(AI)
    assert index.listings() == [everything]
    copy = index.feeds()
    copy.clear()
    assert set(index.feeds()) == {ALL, SPACE}  # feeds() hands out a copy


def test_a_rollback_forgets_what_the_run_held_in_memory_as_well_as_in_the_tables(index):
    put(index, art("a", topics=("AI",)))
    index.set_feed(ALL, "all", b"fp", None)
    index.commit()

    index.begin()
    assert index.counts(NOW) == (1, 0) and index.name(AI) == "AI" and set(index.feeds()) == {ALL}
    put(index, art("b", topics=("ai",)))
    put(index, art("c", topics=("ai",)))
    put(index, art("a", topics=("AI",), title="Edited"), stamp=2)
    index.set_feed(AI, "topics/ai", b"fp", None)
    index.fixed.append("x.md")
    assert index.counts(NOW) == (3, 0) and index.name(AI) == "ai"
    assert index.article("a.md").title == "Edited"

    index.rollback()

    assert index.counts(NOW) == (1, 0)
    assert index.name(AI) == "AI"
    assert index.article("a.md").title == "A"
    assert set(index.feeds()) == {ALL}
    assert set(index.known()) == {"a.md"} and index.fixed == []


def test_committed_work_is_kept_for_the_next_transaction(index):
    put(index, art("a"))
    index.set_meta("last_now", NOW.isoformat())
    index.commit()
    index.begin()
    assert ids(index, ALL) == ["urn:a"] and index.meta("last_now") == NOW.isoformat()
    assert index.article_count == 1


def test_a_folders_files_are_found_by_prefix_and_not_a_sibling_with_a_longer_name(index):
    for name in ("sub/a", "sub/deep/b", "sub-2/c", "sub.d/d", "sub0/e", "subway", "top"):
        put(index, art(name))
    assert index.sources_under("sub") == ["sub/a.md", "sub/deep/b.md"]
    assert index.sources_under("sub/") == ["sub/a.md", "sub/deep/b.md"]
    assert index.sources_under("nothing") == []


def test_what_another_process_committed_is_seen_at_the_next_begin(tmp_path):
    cfg = cache_config(tmp_path)
    ours, theirs = store.open_index(cfg), store.open_index(cfg)
    try:
        ours.begin()
        put(ours, art("a", topics=("AI",)))
        ours.commit()
        ours.begin()
        assert ours.counts(NOW) == (1, 0) and ours.name(AI) == "AI"  # now held in memory
        assert ours.article("a.md").title == "A"
        ours.commit()

        theirs.begin()
        put(theirs, art("b", topics=("ai",)))
        put(theirs, art("c", topics=("ai",)))
        put(theirs, art("a", topics=("AI",), title="Edited elsewhere"), stamp=2)
        theirs.commit()

        ours.begin()
        assert ours.counts(NOW) == (3, 0)
        assert ours.name(AI) == "ai"
        assert ours.article("a.md").title == "Edited elsewhere"
    finally:
        ours.close()
        theirs.close()


# -- recovery: a cache that cannot be had ---------------------------------------------------------
# test_cache.py runs these end to end (a locked cache, damaged pages); here, the two functions.


def cache_config(tmp_path: Path) -> config.Config:
    return config.load(
        None,
        {
            "content_dir": tmp_path / "in",
            "output_dir": tmp_path / "out",
            "cache_file": tmp_path / "cache" / "c.sqlite3",
        },
    )


def test_begin_on_a_cache_another_connection_is_writing_gives_a_private_index(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(schema, "LOCK_WAIT_SECONDS", 0.1)  # read when the cache is opened
    cfg = cache_config(tmp_path)
    cached = store.open_index(cfg)
    cached.begin()
    put(cached, art("a"))
    cached.commit()
    holder = sqlite3.connect(cfg.cache_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with caplog.at_level(logging.WARNING, logger="feedsync.store"):
            private = store.begin(cached)
        try:
            assert private is not cached
            assert private.db.in_transaction  # begun, ready for the run
            assert ids(private, ALL) == []  # nothing of the cache: every file is read again
            put(private, art("b"))
            assert ids(private, ALL) == ["urn:b"]
        finally:
            private.close()
    finally:
        holder.rollback()
        holder.close()

    assert any(
        r.levelno == logging.WARNING and "cache is busy" in r.getMessage() for r in caplog.records
    ), caplog.text
    with pytest.raises(sqlite3.ProgrammingError):  # the cache's connection was let go
        cached.db.execute("SELECT 1")
    again = store.open_index(cfg)  # and the cache itself is untouched
    try:
        assert store.begin(again) is again and ids(again, ALL) == ["urn:a"]
    finally:
        again.close()


def test_begin_on_a_free_cache_keeps_it(tmp_path, caplog):
    cached = store.open_index(cache_config(tmp_path))
    try:
        with caplog.at_level(logging.WARNING, logger="feedsync"):
            assert store.begin(cached) is cached
        assert cached.db.in_transaction and caplog.records == []
    finally:
        cached.close()


def test_a_cache_found_damaged_is_deleted_and_the_run_goes_on_in_a_private_index(tmp_path, caplog):
    cfg = cache_config(tmp_path)
    cached = store.begin(store.open_index(cfg))
    put(cached, art("a"))
    cached.commit()
    assert cfg.cache_file.is_file()

    with caplog.at_level(logging.WARNING, logger="feedsync.store"):
        private = store.damaged(cached, sqlite3.DatabaseError("database disk image is malformed"))
    try:
        assert private is not cached and private.db.in_transaction
        assert ids(private, ALL) == []
    finally:
        private.close()

    assert not list(cfg.cache_file.parent.glob("c.sqlite3*"))  # with its -wal and -shm
    assert any("rebuilding it" in r.getMessage() for r in caplog.records), caplog.text
    rebuilt = store.begin(store.open_index(cfg))  # the next run starts a fresh cache
    try:
        assert rebuilt.known() == {} and cfg.cache_file.is_file()
    finally:
        rebuilt.close()
