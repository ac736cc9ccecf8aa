"""select: what a reader may see at `now`, grouped and ordered."""

from datetime import datetime, timedelta, timezone

from feedsync.model import Article, FeedKind, Provider
from feedsync.select import select

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)


def art(id_, days_ago, *, published=True, topics=(), provider="P", same_time=False):
    when = NOW - timedelta(days=days_ago)
    return Article(
        id=id_,
        source=f"{id_}.md",
        title=id_,
        summary="",
        link="https://x.example/",
        published_at=when,
        updated_at=when,
        published=published,
        provider=Provider(provider, "p.example") if provider else None,
        topics=tuple(topics),
    )


def feeds_by_path(selection):
    return {f.path: f for f in selection.feeds}


def test_a_draft_never_appears_in_any_feed():
    sel = select(
        [art("draft", 1, published=False, topics=["AI"]), art("live", 2, topics=["AI"])], NOW, 50
    )
    for feed in sel.feeds:
        assert [a.id for a in feed.articles] == ["live"]


def test_a_future_article_waits_for_its_time_and_is_the_next_due():
    soon = art("soon", -1, topics=["AI"])
    sel = select([soon, art("old", 3, topics=["AI"])], NOW, 50)
    assert [a.id for a in feeds_by_path(sel)["all"].articles] == ["old"]
    assert sel.scheduled == 1 and sel.next_due == soon.published_at
    later = select([soon], soon.published_at, 50)
    assert [a.id for a in feeds_by_path(later)["topics/ai"].articles] == ["soon"]


def test_feeds_are_newest_first_with_ties_broken_by_id_and_capped():
    items = [art("b", 1), art("a", 1), art("c", 0), art("d", 5)]
    sel = select(items, NOW, 3)
    assert [a.id for a in feeds_by_path(sel)["all"].articles] == ["c", "a", "b"]


def test_topic_spellings_merge_into_one_feed_named_by_the_common_spelling():
    sel = select(
        [
            art("1", 1, topics=["Machine Learning"]),
            art("2", 2, topics=["machine  LEARNING"]),
            art("3", 3, topics=["Machine Learning"]),
        ],
        NOW,
        50,
    )
    topics = [f for f in sel.feeds if f.kind is FeedKind.TOPIC]
    assert [(f.name, f.path, len(f.articles)) for f in topics] == [
        ("Machine Learning", "topics/machine-learning", 3)
    ]


def test_one_feed_per_provider_and_none_for_articles_without_one():
    sel = select([art("1", 1, provider="Acme"), art("2", 2, provider=None)], NOW, 50)
    assert sorted(feeds_by_path(sel)) == ["all", "providers/acme"]


def test_colliding_names_get_distinct_paths_and_a_note():
    sel = select(
        [
            art("1", 1, topics=["C++"]),
            art("2", 2, topics=["c  ++"]),
            art("3", 3, topics=["AI Ethics"]),
            art("4", 4, topics=["AI-Ethics"]),
        ],
        NOW,
        50,
    )
    paths = [f.path for f in sel.feeds if f.kind is FeedKind.TOPIC]
    assert len(paths) == len(set(paths)) == 4
    assert "topics/c-plus-plus" in paths and "topics/ai-ethics" in paths
    assert len(sel.notes) == 2


def test_the_feed_of_everything_exists_even_when_empty():
    sel = select([], NOW, 50)
    assert [f.path for f in sel.feeds] == ["all"] and sel.feeds[0].articles == ()
