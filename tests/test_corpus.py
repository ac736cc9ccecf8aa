"""End to end over a real corpus: 432 front-matter files from everyday-cc/powerapps `_news/`.

Which feed each article belongs in is worked out here from the raw YAML, independently of
feedsync's own reading, grouping and slugging, then compared with what feedparser reads back.
The counts asserted below are the ones documented in shared/corpus/README.md.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import feedparser
import pytest
import yaml

from feedsync import reader
from feedsync.model import Report, Severity
from feedsync.normalise import normalise

from conftest import CORPUS, generate_once

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"corpus folder {CORPUS} is not available"
)

FILES = 432
PUBLISHED = 275
TOPICS = 7
PROVIDERS = 73
PROVIDERS_WITH_PUBLISHED = 14
SITE_TITLE = "feedsync"
TITLE_SUFFIX = f" — {SITE_TITLE}"
MOJIBAKE_FILE = (
    "2021-08-27-microsoft-makes-power-apps-changes-following-asensitive-dataa-exposure-upguard.md"
)
SHARED_LINK_PAIRS = (
    ("2020-12-21-power-platform-stories.md", "2021-06-10-microsoft-power-platform-stories.md"),
    (
        "2021-01-14-on-boarding-user-external-user-to-tenant-through-powerapps-portal.md",
        "2021-02-28-user-on-boarding-walkthrough-powerapps-portal-way.md",
    ),
)


def canonical(name: str) -> str:
    """How feed names are compared: case-insensitive, whitespace collapsed."""
    return " ".join(name.split()).casefold()


def one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Expected:
    """What each feed should hold, keyed by canonical name; built from raw YAML only."""

    published: list[dict[str, Any]] = field(default_factory=list)
    topics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    providers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    providers_without_published: set[str] = field(default_factory=set)


def front_matter(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    _, block, _ = text.split("---\n", 2)
    data = yaml.safe_load(block)
    assert isinstance(data, dict), path
    return data


def link_of(fm: dict[str, Any]) -> str:
    return fm.get("webUrl") or fm["originalUrl"]


def expected_membership() -> Expected:
    expected = Expected()
    all_providers: set[str] = set()
    for path in sorted(CORPUS.glob("*.md")):
        fm = front_matter(path)
        provider = (fm.get("provider") or {}).get("name")
        if provider:
            all_providers.add(canonical(provider))
        if fm.get("published") is not True:
            continue
        expected.published.append(fm)
        for topic in dict.fromkeys(canonical(t) for t in fm.get("topics") or []):
            expected.topics.setdefault(topic, []).append(fm)
        if provider:
            expected.providers.setdefault(canonical(provider), []).append(fm)
    expected.providers_without_published = all_providers - set(expected.providers)
    return expected


@dataclass
class Output:
    report: Report
    folder: Path
    parsed: dict[str, Any]  # relative path -> feedparser result


@pytest.fixture(scope="module")
def expected() -> Expected:
    return expected_membership()


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Output:
    out = tmp_path_factory.mktemp("corpus") / "out"
    report = generate_once(CORPUS, out, max_items=1000)
    parsed = {
        p.relative_to(out).as_posix(): feedparser.parse(p.read_bytes())
        for p in sorted(out.rglob("*"))
        if p.suffix in (".rss", ".atom") and p.relative_to(out).parts[0] != "archive"
    }
    return Output(report, out, parsed)


def feeds_in(output: Output, folder: str, suffix: str) -> dict[str, Any]:
    """Feeds in one output folder, keyed by the canonical name read from the feed's title."""
    found: dict[str, Any] = {}
    for rel, feed in output.parsed.items():
        if not (rel.startswith(f"{folder}/") and rel.endswith(suffix)):
            continue
        title = feed.feed.get("title", "")
        assert title.endswith(TITLE_SUFFIX), f"{rel}: unexpected feed title {title!r}"
        name = canonical(title[: -len(TITLE_SUFFIX)])
        assert name not in found, f"{rel}: a second feed named {name!r}"
        found[name] = (rel, feed)
    return found


def assert_holds_exactly(rel: str, feed: Any, articles: list[dict[str, Any]]) -> None:
    got_links = Counter(e.get("link") for e in feed.entries)
    want_links = Counter(link_of(fm) for fm in articles)
    assert got_links == want_links, (
        f"{rel}: missing {want_links - got_links}, unexpected {got_links - want_links}"
    )
    got_titles = Counter(e.get("title") for e in feed.entries)
    want_titles = Counter(one_line(fm["title"]) for fm in articles)
    assert got_titles == want_titles, (
        f"{rel}: missing {want_titles - got_titles}, unexpected {got_titles - want_titles}"
    )


def assert_newest_first(rel: str, feed: Any) -> None:
    times = [e.published_parsed for e in feed.entries]
    assert all(t is not None for t in times), f"{rel}: an entry has no readable date"
    out_of_order = [i for i in range(1, len(times)) if times[i] > times[i - 1]]
    assert not out_of_order, f"{rel}: entry {out_of_order[0]} is newer than the one before it"


def test_every_corpus_file_is_read_without_errors(output: Output) -> None:
    errors = [str(p) for p in output.report.problems if p.severity is Severity.ERROR]
    assert output.report.files_read == FILES
    assert output.report.files_with_errors == 0, errors
    assert output.report.published == PUBLISHED


def test_independent_count_matches_the_corpus_readme(expected: Expected) -> None:
    # guards the test's own reading of the corpus, so a wrong rule here can't pass silently
    assert len(expected.published) == PUBLISHED
    assert len(expected.topics) == TOPICS
    assert len(expected.providers) == PROVIDERS_WITH_PUBLISHED


def test_every_output_file_parses_cleanly(output: Output) -> None:
    expected_files = 2 * (1 + TOPICS + PROVIDERS_WITH_PUBLISHED)
    assert len(output.parsed) == expected_files, sorted(output.parsed)
    for rel, feed in output.parsed.items():
        assert not feed.bozo, f"{rel}: {feed.get('bozo_exception')!r}"


def test_every_feed_page_parses_without_an_error_and_shows_its_feeds_items(
    output: Output,
) -> None:
    """The real site's odd titles and excerpts, in every feed's page, read by html5lib strictly."""
    import html5lib
    import lxml.html

    strict = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    for rel, feed in output.parsed.items():
        if not rel.endswith(".atom"):
            continue
        data = (output.folder / rel).with_suffix(".html").read_bytes()
        strict.parse(data)
        page = lxml.html.document_fromstring(data)
        shown = [a.text_content() for a in page.xpath("//li[@class='item']//h3/a")]
        assert shown == [e.title for e in feed.entries], rel


@pytest.mark.parametrize("suffix", [".rss", ".atom"])
def test_all_feed_holds_exactly_the_published_articles_newest_first(
    output: Output, expected: Expected, suffix: str
) -> None:
    rel = f"all{suffix}"
    assert rel in output.parsed, f"{rel} was not written"
    feed = output.parsed[rel]
    assert len(feed.entries) == PUBLISHED
    assert_holds_exactly(rel, feed, expected.published)
    assert_newest_first(rel, feed)


@pytest.mark.parametrize("suffix", [".rss", ".atom"])
@pytest.mark.parametrize("folder", ["topics", "providers"])
def test_every_published_corpus_article_is_in_exactly_its_feeds(
    output: Output, expected: Expected, folder: str, suffix: str
) -> None:
    wanted = expected.topics if folder == "topics" else expected.providers
    found = feeds_in(output, folder, suffix)
    assert set(found) == set(wanted), (
        f"{folder}/*{suffix}: missing {sorted(set(wanted) - set(found))},"
        f" unexpected {sorted(set(found) - set(wanted))}"
    )
    for name, articles in wanted.items():
        rel, feed = found[name]
        assert_holds_exactly(rel, feed, articles)
        assert_newest_first(rel, feed)


def test_no_feed_for_a_provider_without_published_articles(
    output: Output, expected: Expected
) -> None:
    assert len(expected.providers_without_published) == PROVIDERS - PROVIDERS_WITH_PUBLISHED
    for suffix in (".rss", ".atom"):
        names = set(feeds_in(output, "providers", suffix))
        assert not names & expected.providers_without_published


def test_entry_ids_are_unique_within_each_feed(output: Output) -> None:
    for rel, feed in output.parsed.items():
        ids = Counter(e.get("id") for e in feed.entries)
        assert None not in ids, f"{rel}: an entry has no id"
        repeated = {i: n for i, n in ids.items() if n > 1}
        assert not repeated, f"{rel}: repeated ids {repeated}"


def test_articles_sharing_a_link_keep_distinct_ids_and_both_appear(output: Output) -> None:
    entries = output.parsed["all.atom"].entries
    for first, second in SHARED_LINK_PAIRS:
        a, b = front_matter(CORPUS / first), front_matter(CORPUS / second)
        assert link_of(a) == link_of(b), "the corpus no longer has this shared link"
        link = link_of(a)
        sharing = [e for e in entries if e.get("link") == link]
        assert sorted(e.title for e in sharing) == sorted(one_line(fm["title"]) for fm in (a, b)), (
            f"{first} and {second}: both should be in all.atom"
        )
        assert len({e.id for e in sharing}) == 2, f"{link}: the two articles share an id"


def test_mojibake_title_is_repaired_with_a_warning() -> None:
    path = CORPUS / MOJIBAKE_FILE
    raw_title = front_matter(path)["title"]
    assert "â€˜Sensitive Dataâ€™" in raw_title, "the corpus file no longer has the mojibake"
    fm = reader.parse(path.read_bytes(), path)
    assert isinstance(fm, reader.FrontMatter), fm
    article, problems = normalise(fm, path, path.name)
    assert article is not None, [str(p) for p in problems]
    assert "‘Sensitive Data’" in article.title
    assert "â€" not in article.title
    warnings = [p for p in problems if p.severity is Severity.WARNING]
    assert any(p.line == fm.lines["title"] for p in warnings), [str(p) for p in problems]


def test_every_published_article_is_reachable_by_prev_archive_from_every_feed(
    output: Output, expected: Expected
) -> None:
    """RFC 5005 on the real site: a client following prev-archive from each subscription
    document gets exactly that feed's published articles (here from the feed of everything
    and every topic and provider feed, compared by link with the corpus read independently)."""
    from urllib.parse import unquote

    from lxml import etree

    atom = "{http://www.w3.org/2005/Atom}"

    def prev(path: Path) -> Path | None:
        for link in etree.parse(str(path)).getroot().findall(f"{atom}link"):
            if link.get("rel") == "prev-archive":
                return output.folder / unquote(link.get("href").split("/", 3)[3])
        return None

    for rel in output.parsed:
        if not rel.endswith(".atom"):
            continue
        links: list[str] = []
        at = prev(output.folder / rel)
        while at is not None:
            links += [e.get("link") for e in feedparser.parse(at.read_bytes()).entries]
            at = prev(at)
        # max_items is 1000 here: each subscription document holds its whole feed, so the
        # archives must hold exactly the same articles.
        assert Counter(links) == Counter(e.get("link") for e in output.parsed[rel].entries), rel
        if rel == "all.atom":
            assert Counter(links) == Counter(link_of(fm) for fm in expected.published)
