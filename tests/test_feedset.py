"""feedset: the operator decides which feeds exist and what they are called.

Each setting with good and bad values, then what it does to the feeds, the pages, the OPML
and index.html, and that changing it rewrites only the feeds it affects.
"""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import lxml.etree
import lxml.html
import pytest

from feedsync import config, feedset
from feedsync.errors import FeedsyncError
from feedsync.model import FeedKind

from conftest import generate_once, titles

TOPIC, PROVIDER, CUSTOM = FeedKind.TOPIC, FeedKind.PROVIDER, FeedKind.CUSTOM


# -- the settings ----------------------------------------------------------------------------


def test_good_settings_are_read_as_written():
    cfg = config.load(
        None,
        {
            "topic_feeds": {
                "include": ["AI", "Space"],
                "exclude": ["Misc"],
                "min_articles": 3,
                "titles": {"AI": {"title": "Artificial intelligence", "icon": "https://i/x.png"}},
            },
            "provider_feeds": {"titles": {"Acme": "Acme Corp"}},  # a title alone, as text
            "custom_feeds": {"robots": {"title": "Robots", "topics": ["Robotics"]}},
        },
    )
    assert cfg.topic_feeds.include == ("AI", "Space") and cfg.topic_feeds.min_articles == 3
    assert cfg.feeds.titling((TOPIC, "ai")) == feedset.Titling(
        "Artificial intelligence", None, "https://i/x.png"
    )
    assert cfg.feeds.titling((PROVIDER, "acme")) == feedset.Titling("Acme Corp")
    (robots,) = cfg.custom_feeds
    assert robots.parts == ((TOPIC, "robotics"),)
    assert config.load(None, {}).feeds == feedset.FeedSet()  # the defaults: every feed


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"topic_feeds": ["AI"]}, "topic_feeds: expected a mapping"),
        ({"topic_feeds": {"exclude": "AI"}}, "topic_feeds.exclude: expected a list of names"),
        ({"topic_feeds": {"include": [1]}}, "topic_feeds.include: expected a list of names"),
        ({"topic_feeds": {"min_articles": 0}}, "topic_feeds.min_articles: expected a whole"),
        ({"provider_feeds": {"min_articles": True}}, "provider_feeds.min_articles"),
        ({"provider_feeds": {"exlcude": []}}, "provider_feeds.exlcude: unknown setting"),
        ({"topic_feeds": {"titles": ["AI"]}}, "topic_feeds.titles: expected a mapping"),
        ({"topic_feeds": {"titles": {"AI": {"tilte": "x"}}}}, "titles.AI.tilte: unknown"),
        ({"topic_feeds": {"titles": {"AI": {"title": ""}}}}, "titles.AI.title: expected a non"),
        ({"topic_feeds": {"titles": {"AI": {"icon": "x.png"}}}}, "titles.AI.icon: expected an"),
        ({"custom_feeds": ["x"]}, "custom_feeds: expected a mapping"),
        ({"custom_feeds": {"Bad Slug": {"title": "x", "topics": ["a"]}}}, "is not a slug"),
        ({"custom_feeds": {"x": {"topics": ["a"]}}}, "custom_feeds.x.title: a custom feed needs"),
        ({"custom_feeds": {"x": {"title": "X"}}}, "custom_feeds.x: name at least one topic"),
        ({"custom_feeds": {"x": {"title": "X", "topics": "a"}}}, "custom_feeds.x.topics"),
    ],
)
def test_a_bad_value_is_an_error_that_names_it(settings, message):
    with pytest.raises(FeedsyncError) as caught:
        config.load(None, settings)
    assert message in str(caught.value)


def test_every_bad_key_and_value_is_reported_at_once():
    with pytest.raises(FeedsyncError) as caught:
        config.load(
            None,
            {
                "topic_feeds": {"exclude": "AI", "min_articles": -1, "colour": "red"},
                "custom_feeds": {"x": {"title": "X"}},
            },
        )
    text = str(caught.value)
    for part in (
        "topic_feeds.exclude",
        "topic_feeds.min_articles",
        "topic_feeds.colour",
        "custom_feeds.x",
    ):
        assert part in text, part


def test_a_bad_feed_setting_exits_2_naming_every_bad_key(tmp_path, capsys):
    from feedsync.cli import main

    cfg_file = tmp_path / "feedsync.yaml"
    cfg_file.write_text("topic_feeds:\n  exclude: AI\n  min_articles: 0\ncustom_feeds: [x]\n")
    assert main(["generate", "--config", str(cfg_file)]) == 2
    err = capsys.readouterr().err
    assert "topic_feeds.exclude" in err and "min_articles" in err and "custom_feeds" in err


# -- what they do ------------------------------------------------------------------------------


@pytest.fixture
def content(tmp_path, write_article) -> Path:
    """Three topics, two providers: AI (3 articles), Robotics (2), Misc (1)."""
    folder = tmp_path / "in"
    write_article(folder, "1.md", title="One", topics=["AI"], provider="Acme", day="2024-01-01")
    write_article(folder, "2.md", title="Two", topics=["AI", "Robotics"], day="2024-01-02")
    write_article(folder, "3.md", title="Three", topics=["ai", "Misc"], day="2024-01-03")
    write_article(
        folder, "4.md", title="Four", topics=["Robotics"], provider="Acme", day="2024-01-04"
    )
    return folder


def files(out: Path) -> set[str]:
    """The output's files, the archive aside (tests/test_archive.py)."""
    found = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    return {f for f in found if not f.startswith("archive/")}


def feeds_of(names) -> set[str]:
    """The feeds these written files belong to (an archive document to its feed's)."""
    found = set()
    for name in names:
        stem = name.rpartition(".")[0]
        found.add(
            stem.removeprefix("archive/").rpartition("/")[0]
            if name.startswith("archive/")
            else stem
        )
    return found - {"index", "feeds"}


def opml_texts(out: Path) -> list[str]:
    root = lxml.etree.parse(str(out / "feeds.opml"))
    return [o.get("text") for o in root.iter("outline") if o.get("xmlUrl")]


def index_names(out: Path) -> list[str]:
    doc = lxml.html.parse(str(out / "index.html"))
    return [td.text_content() for td in doc.xpath("//td[@class='name']")]


def test_an_excluded_topic_has_no_feed_but_its_articles_stay_in_the_others(tmp_path, content):
    out = tmp_path / "out"
    report = generate_once(content, out, topic_feeds={"exclude": ["MISC "]})
    assert not report.problems
    assert not [f for f in files(out) if f.startswith("topics/misc")]
    assert titles(out / "all.atom") == ["Four", "Three", "Two", "One"]
    assert titles(out / "topics/ai.atom") == ["Three", "Two", "One"]
    assert "Misc" not in opml_texts(out) and "Misc" not in index_names(out)


def test_include_names_the_only_topics_with_feeds(tmp_path, content):
    out = tmp_path / "out"
    generate_once(content, out, topic_feeds={"include": ["robotics"]})
    topics = sorted(f for f in files(out) if f.startswith("topics/"))
    assert topics == [f"topics/robotics.{e}" for e in ("atom", "html", "json", "rss")]
    assert len([f for f in files(out) if f.startswith("providers/")]) == 8  # untouched


def test_min_articles_writes_a_feed_only_once_enough_are_out(tmp_path, content, write_article):
    out = tmp_path / "out"
    settings = {"topic_feeds": {"min_articles": 2}, "provider_feeds": {"min_articles": 3}}
    generate_once(content, out, **settings)
    assert {f.rpartition(".")[0] for f in files(out) if "/" in f} == {
        "topics/ai",
        "topics/robotics",
    }
    # A scheduled article does not count until it is out; once out, Misc qualifies.
    write_article(content, "5.md", title="Five", topics=["Misc"], day="2030-01-01")
    generate_once(content, out, **settings)
    assert not (out / "topics/misc.atom").exists()
    write_article(content, "5.md", title="Five", topics=["Misc"], day="2024-01-05")
    report = generate_once(content, out, **settings)
    assert "topics/misc.atom" in report.written
    assert titles(out / "topics/misc.atom") == ["Five", "Three"]


def test_a_configured_title_is_used_exactly_as_written_everywhere(tmp_path, content):
    out = tmp_path / "out"
    generate_once(
        content,
        out,
        base_url="https://f.example/",
        topic_feeds={"titles": {"ai": {"title": "Artificial <intelligence>", "description": "D"}}},
        provider_feeds={"titles": {"ACME": "Acme & Co"}},
    )
    for path, title in (
        ("topics/ai", "Artificial <intelligence>"),
        ("providers/acme", "Acme & Co"),
    ):
        for ext in ("rss", "atom"):
            assert feedparser.parse((out / f"{path}.{ext}").read_bytes()).feed.title == title
        assert json.loads((out / f"{path}.json").read_text(encoding="utf-8"))["title"] == title
        page = lxml.html.parse(str(out / f"{path}.html"))
        assert page.findtext(".//title") == title and page.findtext(".//h1") == title
        assert title in opml_texts(out) and title in index_names(out)
    assert feedparser.parse((out / "topics/ai.atom").read_bytes()).feed.subtitle == "D"
    assert feedparser.parse((out / "topics/robotics.atom").read_bytes()).feed.title == (
        "Robotics — feedsync"  # an untitled feed keeps the usual title
    )


def test_a_custom_feed_holds_its_topics_and_providers_articles_once(tmp_path, content):
    out = tmp_path / "out"
    custom = {"mix": {"title": "Robots and Acme", "topics": ["Robotics"], "providers": ["acme"]}}
    report = generate_once(content, out, base_url="https://f.example/", custom_feeds=custom)
    assert not report.problems
    assert {f for f in files(out) if f.startswith("custom/")} == {
        f"custom/mix.{e}" for e in ("rss", "atom", "json", "html")
    }
    assert titles(out / "custom/mix.atom") == ["Four", "Two", "One"]  # Four is in both, once
    parsed = feedparser.parse((out / "custom/mix.rss").read_bytes())
    assert parsed.feed.title == "Robots and Acme" and not parsed.bozo
    assert "Robots and Acme" in opml_texts(out)
    doc = lxml.html.parse(str(out / "index.html"))
    assert doc.xpath("//h2[starts-with(., 'Collections')]")
    assert doc.xpath("//td[@class='name']/a[@href='custom/mix.html']")


def test_a_name_that_matches_nothing_is_a_warning_and_exit_0(tmp_path, content, capsys):
    from feedsync.cli import main

    cfg_file = tmp_path / "feedsync.yaml"
    cfg_file.write_text(
        f"content_dir: {content}\noutput_dir: {tmp_path / 'out'}\n"
        "topic_feeds:\n  exclude: [Robotcs]\n"
        "custom_feeds:\n  x: {title: X, providers: [Acne]}\n"
    )
    assert main(["generate", "--config", str(cfg_file)]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert any("warning" in line and "'Robotcs'" in line for line in lines), lines
    assert any("warning" in line and "'Acne'" in line for line in lines), lines


def test_changing_the_settings_rewrites_only_the_feeds_they_affect(tmp_path, content):
    out = tmp_path / "out"
    generate_once(content, out)
    before = {p: (out / p).stat().st_mtime_ns for p in files(out)}

    report = generate_once(content, out, topic_feeds={"exclude": ["Misc"]})
    assert sorted(report.removed) == [
        *(f"archive/topics/misc/2024-01.{e}" for e in ("atom", "rss")),
        *(f"topics/misc.{e}" for e in ("atom", "html", "json", "rss")),
    ]
    assert set(report.written) <= {"index.html", "feeds.opml"}
    for name, mtime in before.items():
        if not name.startswith("topics/misc") and name not in ("index.html", "feeds.opml"):
            assert (out / name).stat().st_mtime_ns == mtime, name

    report = generate_once(
        content, out, topic_feeds={"exclude": ["Misc"], "titles": {"AI": "Machines"}}
    )
    assert feeds_of(report.written) == {"topics/ai"} and report.removed == ()
    # The same settings again: nothing at all.
    again = generate_once(
        content, out, topic_feeds={"exclude": ["Misc"], "titles": {"AI": "Machines"}}
    )
    assert again.written == () and again.removed == ()
    # And back to the defaults: Misc returns, AI loses its title.
    back = generate_once(content, out)
    assert feeds_of(back.written) == {
        "topics/ai",
        "topics/misc",
    }
