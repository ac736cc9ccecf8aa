"""membership: which feeds an article is in, and what each feed is called."""

from datetime import datetime, timezone

from feedsync import membership
from feedsync.membership import ALL
from feedsync.model import Article, FeedKind, Provider

WHEN = datetime(2025, 1, 1, tzinfo=timezone.utc)


def art(*, published=True, topics=(), provider: str | None = "P") -> Article:
    return Article(
        id="urn:x",
        source="x.md",
        title="X",
        summary="",
        link="https://x.example/",
        published_at=WHEN,
        updated_at=WHEN,
        published=published,
        provider=Provider(provider, "p.example") if provider else None,
        topics=tuple(topics),
    )


def test_a_draft_is_in_no_feed_at_all():
    assert membership.feeds_of(art(published=False, topics=["AI"])) == ()


def test_a_published_article_is_in_everything_each_topic_and_its_provider():
    assert membership.feeds_of(art(topics=["AI", "Space"], provider="Acme News")) == (
        (ALL, ""),
        ((FeedKind.TOPIC, "ai"), "AI"),
        ((FeedKind.TOPIC, "space"), "Space"),
        ((FeedKind.PROVIDER, "acme news"), "Acme News"),
    )


def test_two_spellings_of_one_topic_in_an_article_are_one_membership_with_the_first_spelling():
    found = membership.feeds_of(art(topics=["Machine Learning", "machine  LEARNING"]))
    assert [f for f in found if f[0][0] is FeedKind.TOPIC] == [
        ((FeedKind.TOPIC, "machine learning"), "Machine Learning")
    ]


def test_an_article_without_a_provider_is_in_no_provider_feed():
    found = membership.feeds_of(art(provider=None))
    assert [ref for ref, _ in found] == [ALL]


def test_a_feed_is_named_by_the_spelling_most_of_its_articles_use():
    assert membership.name({"Machine Learning": 2, "machine LEARNING": 1}) == "Machine Learning"


def test_a_tie_goes_to_the_smallest_spelling_so_the_name_never_flips():
    assert membership.name({"ai": 1, "AI": 1, "Ai": 1}) == "AI"
    assert membership.name({}) == ""


def test_a_feed_reference_round_trips_through_its_text():
    for ref in (ALL, (FeedKind.TOPIC, "c++"), (FeedKind.PROVIDER, "a:b")):
        assert membership.ref_of(membership.ref_text(ref)) == ref
