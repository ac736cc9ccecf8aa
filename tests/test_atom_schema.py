"""Atom output against RFC 4287's RELAX NG schema (Appendix B), and hostile text end to end.

The schema lives in shared/schemas/atom.rnc (compact syntax); lxml reads only the XML syntax,
so it is converted once per session with rnc2rng.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from conftest import ROOT, generate_once, load_atom_schema

ATOM_NS = "http://www.w3.org/2005/Atom"
SITE_TITLE = "feedsync"
# XML 1.0 `Char`: what may appear in a document at all (written independently of feedsync).
XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# (file, title, topics, provider): every title, topic and provider name is hostile somehow.
HOSTILE = [
    (
        "lt-amp.md",
        "1 < 2 & 3 > 2 \"double\" 'single' “curly”",
        ["Künstliche Intelligenz", "C++"],
        "Ünïcødé / News",
    ),
    ("cdata.md", 'Ends ]]> here <script>alert("x")</script>', ["C#", "a/b", ".."], "../etc"),
    (
        "controls.md",
        "Emoji 🚀🎉 and control\x01\x02\x1f chars\x0b \x7f done\ufffe",
        ["../..", "AT&T <Labs>"],
        "C++",
    ),
    (
        "markup.md",
        "<![CDATA[ not cdata ]]> <b>bold</b> & 'quotes' \"here\"",
        ["🚀 Rockets", "Künstliche Intelligenz"],
        '<Evil> & "Co"',
    ),
]


TERMINAL_CONTROLS = re.compile("[\x7f-\x9f]")


def as_published(text: str) -> str:
    """The typed text minus what XML forbids and the terminal controls (DEL, C1), on one line
    (titles are one-line fields)."""
    return " ".join(TERMINAL_CONTROLS.sub("", XML_FORBIDDEN.sub("", text)).split())


@pytest.fixture(scope="session")
def atom_schema() -> etree.RelaxNG:
    return load_atom_schema()


def schema_failures(schema: etree.RelaxNG, out: Path) -> dict[str, str]:
    failures = {}
    for path in sorted(out.rglob("*.atom")):
        if not schema.validate(etree.parse(str(path))):
            failures[path.relative_to(out).as_posix()] = str(schema.error_log)
    return failures


def describe(failures: dict[str, str]) -> str:
    return "\n".join(f"{name}:\n{log}" for name, log in failures.items())


def test_every_atom_feed_from_the_seeds_is_valid_rfc_4287(
    tmp_path: Path, atom_schema: etree.RelaxNG
) -> None:
    out = tmp_path / "out"
    generate_once(ROOT / "seeds", out)
    atom_files = sorted(out.rglob("*.atom"))
    assert len(atom_files) > 1, "the seeds should give an all feed and topic/provider feeds"
    failures = schema_failures(atom_schema, out)
    assert not failures, "invalid Atom:\n" + describe(failures)


@pytest.fixture
def hostile_output(tmp_path: Path, write_article: Callable[..., Path]) -> Path:
    content = tmp_path / "in"
    for i, (name, title, topics, provider) in enumerate(HOSTILE):
        write_article(
            content,
            name,
            title,
            day=f"2024-05-{i + 1:02d}",
            link=f"https://news.example.com/hostile/{i}",
            topics=topics,
            provider=provider,
            excerpt=f"{title}\nline two: <i>x</i> ]]> &\x01",
        )
    out = tmp_path / "out"
    report = generate_once(content, out)
    assert report.files_with_errors == 0, [str(p) for p in report.problems]
    assert report.published == len(HOSTILE)
    return out


def test_hostile_text_gives_valid_atom(hostile_output: Path, atom_schema: etree.RelaxNG) -> None:
    assert sorted(hostile_output.rglob("*.atom")), "no Atom files written"
    failures = schema_failures(atom_schema, hostile_output)
    assert not failures, "invalid Atom:\n" + describe(failures)


def test_hostile_text_gives_well_formed_rss(hostile_output: Path) -> None:
    rss_files = sorted(hostile_output.rglob("*.rss"))
    assert rss_files, "no RSS files written"
    parser = etree.XMLParser(recover=False, resolve_entities=False)
    for path in rss_files:
        try:
            root = etree.parse(str(path), parser).getroot()
        except etree.XMLSyntaxError as exc:
            pytest.fail(f"{path.relative_to(hostile_output)} is not well-formed XML: {exc}")
        assert root.tag == "rss", path


def test_hostile_names_each_get_their_own_feed_inside_the_output_folder(
    tmp_path: Path, hostile_output: Path
) -> None:
    # names with '/' or '..' must not write anywhere but the output folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]
    for folder, names in (
        ("topics", {as_published(t) for _, _, topics, _ in HOSTILE for t in topics}),
        ("providers", {as_published(p) for *_, p in HOSTILE}),
    ):
        for suffix in (".atom", ".rss"):
            titles = {
                feedparser.parse(p.read_bytes()).feed.title
                for p in (hostile_output / folder).glob(f"*{suffix}")
            }
            assert titles == {f"{n} — {SITE_TITLE}" for n in names}, f"{folder}/*{suffix}"


def test_hostile_titles_come_back_exactly_as_typed_in_atom(hostile_output: Path) -> None:
    want = {as_published(title) for _, title, _, _ in HOSTILE}
    feed = feedparser.parse((hostile_output / "all.atom").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert {e.title for e in feed.entries} == want
    for path in sorted(hostile_output.rglob("*.atom")):
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, f"{path.name}: {parsed.get('bozo_exception')!r}"
        assert all(e.title_detail.type == "text/plain" for e in parsed.entries), path.name
        titles = {e.title for e in parsed.entries}
        assert titles and titles <= want, path.name


def test_hostile_titles_come_back_exactly_as_typed_in_rss(hostile_output: Path) -> None:
    # RSS 2.0 does not say whether <title> is text or HTML, and feedparser guesses HTML
    # (it drops a typed "<![CDATA[" for one), so the XML text is compared instead.
    want = {as_published(title) for _, title, _, _ in HOSTILE}
    all_rss = etree.parse(str(hostile_output / "all.rss"))
    assert {t.text for t in all_rss.iterfind("channel/item/title")} == want
    for path in sorted(hostile_output.rglob("*.rss")):
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, f"{path.name}: {parsed.get('bozo_exception')!r}"
        titles = {t.text for t in etree.parse(str(path)).iterfind("channel/item/title")}
        assert titles and titles <= want, path.name


def test_the_schema_rejects_a_feed_without_an_id(
    tmp_path: Path, atom_schema: etree.RelaxNG
) -> None:
    out = tmp_path / "out"
    generate_once(ROOT / "seeds", out)
    tree = etree.parse(str(out / "all.atom"))
    assert atom_schema.validate(tree), atom_schema.error_log
    feed_id = tree.getroot().find(f"{{{ATOM_NS}}}id")
    assert feed_id is not None
    tree.getroot().remove(feed_id)
    assert not atom_schema.validate(tree), "a feed without <id> passed the Atom schema"
