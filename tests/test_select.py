"""select: what a feed shows at `now`, in what order, and when it changed (no SQLite here)."""

from datetime import datetime, timedelta, timezone

from feedsync import select
from feedsync.membership import ALL
from feedsync.model import Article, FeedKind
from feedsync.select import Member

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)


def member(id_: str, days_ago: float, *, domain=None, topics=(), digest=b"d") -> Member:
    return Member(
        select.rank(NOW - timedelta(days=days_ago)), id_, f"{id_}.md", digest, domain, topics
    )


def in_order(*members: Member) -> list[Member]:
    """Members as the store hands them over: in feed order."""
    return sorted(members, key=select.order_key)


def ids(members) -> list[str]:
    return [m.id for m in members]


def test_a_future_article_waits_for_its_time_then_shows():
    soon, old = member("soon", -1), member("old", 3)
    assert ids(select.shown(in_order(soon, old), NOW, 50)) == ["old"]
    assert ids(select.shown(in_order(soon, old), NOW + timedelta(days=1), 50)) == ["soon", "old"]


def test_an_article_is_shown_from_the_second_of_its_publication():
    exactly = Member(select.rank(NOW), "now", "now.md", b"d", None, ())
    assert ids(select.shown([exactly], NOW, 50)) == ["now"]
    assert ids(select.shown([exactly], NOW - timedelta(microseconds=1), 50)) == []


def test_feeds_are_newest_first_with_ties_broken_by_id_and_capped():
    members = in_order(member("b", 1), member("a", 1), member("c", 0), member("d", 5))
    assert ids(members) == ["c", "a", "b", "d"]
    assert ids(select.shown(members, NOW, 3)) == ["c", "a", "b"]
    assert ids(select.shown(members, NOW, None)) == ["c", "a", "b", "d"]


def test_showing_a_capped_feed_reads_no_further_than_the_cap():
    taken = []

    def members():
        for m in in_order(*(member(str(i), i) for i in range(100))):
            taken.append(m)
            yield m

    assert len(select.shown(members(), NOW, 5)) == 5 and len(taken) == 5


def test_a_provider_feed_links_to_its_site_and_items_use_each_topics_own_name():
    shown = [member("a", 1, domain=None, topics=("ai",)), member("b", 2, domain="acme.example")]
    names = {"ai": "AI"}
    p = select.plan((FeedKind.PROVIDER, "acme"), "Acme", "providers/acme", shown, names.get)
    assert p.link == "https://acme.example/" and p.labels == (("ai", "AI"),)
    everything = select.plan(ALL, "ignored", "all", shown, names.get)
    assert everything.link is None and everything.name == ""


def test_the_fingerprint_changes_exactly_when_what_the_feed_shows_changes():
    def fingerprint(*members, name="AI"):
        return select.plan((FeedKind.TOPIC, "ai"), name, "topics/ai", members, str).fingerprint

    a, b = member("a", 1, digest=b"of a"), member("b", 2, digest=b"of b")
    assert fingerprint(a, b) == fingerprint(a, b)
    assert fingerprint(a, b) != fingerprint(b, a)  # order
    assert fingerprint(a, b) != fingerprint(a)  # membership
    assert fingerprint(a, b) != fingerprint(a._replace(digest=b"edited"), b)  # an edit
    assert fingerprint(a, b) != fingerprint(a, b, name="Ai")  # the feed's name


def test_materialise_gives_the_feed_its_articles_in_the_shown_order():
    shown = in_order(member("a", 2), member("b", 1))
    p = select.plan(ALL, "", "all", shown, str)

    def article(source: str) -> Article:
        when = NOW - timedelta(days=1)
        return Article(source, source, source, "", "https://x/", when, when, True)

    assert [a.source for a in select.materialise(p, article).articles] == ["b.md", "a.md"]
