"""generate + render end to end: tmp_path content folders in, feeds read back with feedparser."""

import json
from datetime import timedelta

import feedparser
import pytest

from feedsync import config, generate

from conftest import FIXED_NOW, generate_once


def parse(path):
    feed = feedparser.parse(path.read_bytes())
    assert not feed.bozo, f"{path}: {feed.get('bozo_exception')}"
    return feed


def json_feed(path):
    """A JSON Feed 1.1 document, checked for what the spec requires (feedparser 6 reads none)."""
    doc = json.loads(path.read_bytes())
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["title"] and doc["feed_url"].startswith("http")
    for item in doc["items"]:
        assert item["id"] and ("content_text" in item or "content_html" in item)
    return doc


def titles_in(path):
    """Item titles in any format (JSON Feed checked against the spec; XML via feedparser)."""
    if path.suffix == ".json":
        return [item["title"] for item in json_feed(path)["items"]]
    return [e.title for e in parse(path).entries]


def test_topic_feed_lists_newest_first(tmp_path, write_article):
    write_article(tmp_path / "in", "a.md", title="Old", topics=["AI"], day="2023-05-01")
    write_article(tmp_path / "in", "b.md", title="New", topics=["AI"], day="2023-06-01")
    generate_once(tmp_path / "in", tmp_path / "out")
    for ext in ("rss", "atom"):
        assert titles_in(tmp_path / f"out/topics/ai.{ext}") == ["New", "Old"]


def test_each_article_is_in_exactly_its_topic_and_provider_feeds(tmp_path, write_article):
    content = tmp_path / "in"
    write_article(
        content, "1.md", title="One", topics=["AI", "Robotics"], provider="Acme", day="2024-01-01"
    )
    write_article(
        content, "2.md", title="Two", topics=["robotics"], provider="Beta", day="2024-01-02"
    )
    write_article(content, "3.md", title="Three", topics=None, provider="Acme", day="2024-01-03")
    write_article(
        content,
        "4.md",
        title="Draft",
        topics=["AI"],
        provider="Acme",
        published=False,
        day="2024-01-04",
    )
    report = generate_once(content, tmp_path / "out")
    out = tmp_path / "out"
    assert report.published == 3 and report.exit_code == 0
    expected = {
        "all": ["Three", "Two", "One"],
        "topics/ai": ["One"],
        "topics/robotics": ["Two", "One"],
        "providers/acme": ["Three", "One"],
        "providers/beta": ["Two"],
    }
    for path, want in expected.items():
        for ext in ("rss", "atom", "json"):
            assert titles_in(out / f"{path}.{ext}") == want, f"{path}.{ext}"
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    written = [name for name in written if not name.startswith("archive/")]  # test_archive.py
    assert written == sorted(
        [
            *(f"{p}.{e}" for p in expected for e in ("rss", "atom", "json", "html")),
            "feeds.css",
            "feeds.opml",
            "index.html",
        ]
    )


def test_feeds_carry_absolute_percent_encoded_self_links(tmp_path, write_article):
    write_article(tmp_path / "in", "a.md", topics=["Künstliche Intelligenz"])
    generate_once(tmp_path / "in", tmp_path / "out", base_url="https://feeds.example.org/news")
    atom = parse(tmp_path / "out/topics/künstliche-intelligenz.atom")
    self_links = [link.href for link in atom.feed.links if link.rel == "self"]
    assert self_links == ["https://feeds.example.org/news/topics/k%C3%BCnstliche-intelligenz.atom"]
    rss = parse(tmp_path / "out/topics/künstliche-intelligenz.rss")
    assert [link.href for link in rss.feed.links if link.rel == "self"] == [
        "https://feeds.example.org/news/topics/k%C3%BCnstliche-intelligenz.rss"
    ]


def test_feed_dates_come_from_the_content_not_the_clock(tmp_path, write_article):
    write_article(tmp_path / "in", "a.md", title="A", day="2024-03-01", time="10:00:00+02:00")
    write_article(
        tmp_path / "in", "b.md", title="B", day="2024-02-01", updatedDateTime="2024-03-05T00:00:00Z"
    )
    generate_once(tmp_path / "in", tmp_path / "a")
    generate_once(tmp_path / "in", tmp_path / "b", now=FIXED_NOW + timedelta(days=400))
    for name in ("all.rss", "all.atom"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    atom = parse(tmp_path / "a/all.atom")
    assert atom.feed.updated == "2024-03-05T00:00:00+00:00"
    assert atom.entries[0].published == "2024-03-01T08:00:00+00:00"
    rss = parse(tmp_path / "a/all.rss")
    assert rss.entries[0].published == "Fri, 01 Mar 2024 08:00:00 +0000"
    assert rss.feed.updated == "Tue, 05 Mar 2024 00:00:00 +0000"


@pytest.mark.parametrize(
    "title",
    [
        "Tools & tricks: when x < y",
        "Ends with ]]> and <script>alert(1)</script>",
        "“Quotes” 'single' \"double\" — 人工智能 🤖",
    ],
)
def test_anything_an_author_types_comes_back_exactly(tmp_path, write_article, title):
    write_article(tmp_path / "in", "a.md", title=title, excerpt=f"About {title}")
    generate_once(tmp_path / "in", tmp_path / "out")
    for ext in ("rss", "atom"):
        entry = parse(tmp_path / f"out/all.{ext}").entries[0]
        assert entry.title == title
        assert entry.summary == f"About {title}".replace("&", "&amp;").replace("<", "&lt;").replace(
            ">", "&gt;"
        )  # HTML text that displays as typed


def test_items_carry_provider_categories_image_and_a_stable_guid(tmp_path, write_article):
    write_article(
        tmp_path / "in",
        "a.md",
        title="A",
        provider="Acme",
        domain="acme.example",
        topics=["AI", "Open Source"],
        images=[
            {"url": "https://acme.example/a.jpg", "width": 640, "height": 480},
            {"url": "https://acme.example/b.jpg"},
        ],
    )
    generate_once(tmp_path / "in", tmp_path / "out")
    rss, atom = (parse(tmp_path / f"out/all.{e}").entries[0] for e in ("rss", "atom"))
    for entry in (rss, atom):
        assert entry.author == "Acme"
        assert [t.term for t in entry.tags] == ["AI", "Open Source"]
        assert entry.media_content[0]["url"] == "https://acme.example/a.jpg"
        assert entry.media_content[0]["width"] == "640"
    assert rss.id == atom.id and rss.id.startswith("urn:uuid:")
    assert rss.guidislink is False
    assert "c2VjcmV0" not in (tmp_path / "out/all.rss").read_text()


def test_same_input_gives_identical_bytes_and_a_second_run_rewrites_nothing(
    tmp_path, write_article
):
    for i in range(5):
        write_article(
            tmp_path / "in", f"{i}.md", title=f"T{i}", topics=["AI"], day=f"2024-01-0{i + 1}"
        )
    first = generate_once(tmp_path / "in", tmp_path / "out")
    snapshot = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (tmp_path / "out").rglob("*.*")}
    second = generate_once(tmp_path / "in", tmp_path / "out")
    assert len(first.written) == len(snapshot) and second.written == ()
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in snapshot} == snapshot


def test_a_change_no_feed_shows_rewrites_nothing(tmp_path, write_article):
    write_article(tmp_path / "in", "a.md", title="A", quality=1, heat=1)
    generate_once(tmp_path / "in", tmp_path / "out")
    write_article(tmp_path / "in", "a.md", title="A", quality=99, heat=99, secured="changed")
    assert generate_once(tmp_path / "in", tmp_path / "out").written == ()


def test_a_topic_that_loses_its_last_article_loses_its_feeds(tmp_path, write_article):
    write_article(tmp_path / "in", "a.md", title="A", topics=["AI"])
    write_article(tmp_path / "in", "b.md", title="B", topics=["Robotics"])
    generate_once(tmp_path / "in", tmp_path / "out")
    write_article(tmp_path / "in", "b.md", title="B", topics=["Robotics"], published=False)
    report = generate_once(tmp_path / "in", tmp_path / "out")
    assert sorted(report.removed) == [
        "archive/topics/robotics/2024-05.atom",  # its archive goes with it
        "archive/topics/robotics/2024-05.rss",
        "topics/robotics.atom",
        "topics/robotics.html",
        "topics/robotics.json",
        "topics/robotics.rss",
    ]
    assert not (tmp_path / "out/topics/robotics.rss").exists()
    assert (tmp_path / "out/topics/ai.rss").exists()


def test_a_future_article_appears_once_its_time_comes(tmp_path, write_article):
    write_article(tmp_path / "in", "a.md", title="Embargoed", day="2026-06-01")
    report = generate_once(tmp_path / "in", tmp_path / "out")
    assert titles_in(tmp_path / "out/all.atom") == [] and report.scheduled == 1
    generate_once(tmp_path / "in", tmp_path / "out", now=FIXED_NOW + timedelta(days=200))
    assert titles_in(tmp_path / "out/all.atom") == ["Embargoed"]


def test_one_bad_file_is_reported_and_the_rest_published(tmp_path, write_article, caplog):
    write_article(tmp_path / "in", "good.md", title="Good")
    (tmp_path / "in/bad.md").write_text("---\ntitle: [oops\n---\n")
    report = generate_once(tmp_path / "in", tmp_path / "out")
    assert titles_in(tmp_path / "out/all.atom") == ["Good"]
    assert report.exit_code == 1 and report.files_with_errors == 1
    assert any("bad.md:2" in r.getMessage() for r in caplog.records)


def test_the_feed_cap_keeps_the_newest(tmp_path, write_article):
    for i in range(1, 8):
        write_article(tmp_path / "in", f"{i}.md", title=f"T{i}", day=f"2024-01-0{i}")
    generate_once(tmp_path / "in", tmp_path / "out", max_items=3)
    assert titles_in(tmp_path / "out/all.rss") == ["T7", "T6", "T5"]


def test_duplicate_ids_keep_the_first_file_and_report_the_other(tmp_path, write_article):
    write_article(tmp_path / "in", "a.md", title="First", id="same")
    write_article(tmp_path / "in", "b.md", title="Second", id="same")
    report = generate_once(tmp_path / "in", tmp_path / "out")
    assert titles_in(tmp_path / "out/all.atom") == ["First"]
    assert any("already used by a.md" in p.reason for p in report.problems)


def test_duplicate_ids_go_to_the_first_file_by_path_whatever_the_history(tmp_path, write_article):
    content, out = tmp_path / "in", tmp_path / "out"
    cfg = config.load(None, {"content_dir": content, "output_dir": out})
    state = generate.State()  # one index across runs, as the daemon keeps it
    write_article(content, "b.md", title="Second", id="same")
    generate.run(cfg, FIXED_NOW, state=state)
    write_article(content, "a.md", title="First", id="same")
    report = generate.run(cfg, FIXED_NOW, state=state, changed=[content / "a.md"])
    assert titles_in(out / "all.atom") == ["First"]
    assert [(p.path.name, "already used by a.md" in p.reason) for p in report.problems] == [
        ("b.md", True)
    ]
    assert generate.run(cfg, FIXED_NOW, state=state).problems == report.problems

    (content / "a.md").unlink()
    report = generate.run(cfg, FIXED_NOW, state=state, changed=[content / "a.md"])
    assert titles_in(out / "all.atom") == ["Second"]
    assert report.problems == ()
    assert generate.run(cfg, FIXED_NOW, state=state).problems == ()


def test_symlinks_out_of_the_content_folder_are_refused(tmp_path, write_article):
    secret = write_article(tmp_path / "secret", "s.md", title="Secret")
    write_article(tmp_path / "in", "a.md", title="A")
    (tmp_path / "in/link.md").symlink_to(secret)
    (tmp_path / "in/loop").symlink_to(tmp_path / "in")
    report = generate_once(tmp_path / "in", tmp_path / "out")
    assert titles_in(tmp_path / "out/all.atom") == ["A"]
    assert any("outside the content folder" in p.reason for p in report.problems)


def test_an_output_folder_inside_the_content_folder_is_not_read(tmp_path, write_article):
    write_article(tmp_path / "in", "a.md", title="A")
    write_article(tmp_path / "in/out", "trap.md", title="Trap")
    report = generate_once(tmp_path / "in", tmp_path / "in/out")
    assert report.files_read == 1


def test_json_feed_carries_the_same_items_with_authors_tags_and_image(tmp_path, write_article):
    write_article(
        tmp_path / "in",
        "a.md",
        title="A <b>",
        provider="Acme",
        domain="acme.example",
        topics=["AI"],
        images=[{"url": "https://acme.example/a.jpg"}],
        day="2024-03-01",
        time="10:00:00+02:00",
    )
    generate_once(tmp_path / "in", tmp_path / "out", base_url="https://feeds.example.org/")
    doc = json_feed(tmp_path / "out/topics/ai.json")
    assert doc["feed_url"] == "https://feeds.example.org/topics/ai.json"
    [item] = doc["items"]
    assert item["title"] == "A <b>" and item["content_text"] == "An excerpt."
    assert item["date_published"] == "2024-03-01T08:00:00Z"
    assert item["authors"] == [{"name": "Acme", "url": "https://acme.example/"}]
    assert item["tags"] == ["AI"] and item["image"] == "https://acme.example/a.jpg"
    assert item["id"] == parse(tmp_path / "out/topics/ai.atom").entries[0].id
    assert "hubs" not in doc


def test_every_format_declares_a_configured_websub_hub_next_to_its_self_link(
    tmp_path, write_article
):
    write_article(tmp_path / "in", "a.md")
    generate_once(
        tmp_path / "in",
        tmp_path / "out",
        base_url="https://feeds.example.org/",
        websub_hub="https://hub.example.net/",
    )
    for ext in ("rss", "atom"):
        links = {(link.rel, link.href) for link in parse(tmp_path / f"out/all.{ext}").feed.links}
        assert ("hub", "https://hub.example.net/") in links
        assert ("self", f"https://feeds.example.org/all.{ext}") in links
    assert json_feed(tmp_path / "out/all.json")["hubs"] == [
        {"type": "WebSub", "url": "https://hub.example.net/"}
    ]


def test_formats_are_configurable(tmp_path, write_article):
    write_article(tmp_path / "in", "a.md")
    generate_once(tmp_path / "in", tmp_path / "out", formats=["json"])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "all.json",
        "feeds.css",
        "feeds.opml",
        "index.html",
        "providers",
    ]
