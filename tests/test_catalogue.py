"""The catalogue of bad input: for each kind, the promised behaviour (README, Troubleshooting).

Every row runs a real generation over a folder holding a good control article and the bad
input. Whatever the row, the run goes on (the control article is published), no exception
escapes, every feed stays valid (feedparser, the Atom schema, JSON), and nothing is written
outside the output folder. Then the row's own promise: the file is reported with its path and
the reason and left out, or accepted with a documented normalisation, or not read at all.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from feedsync.model import Severity

from conftest import article_text, generate_once, load_atom_schema

Make = Callable[[Path, Path], None]  # (content folder, tmp_path) -> writes the bad input


@dataclass(frozen=True)
class Row:
    name: str
    make: Make
    verdict: str  # "error" | "warning" | "accepted" | "ignored" | "scheduled"
    reason: str = ""  # substring of the reported reason
    titles: tuple[str, ...] = ()  # what the feed of everything shows besides the control


def text(name: str, body: str | bytes) -> Make:
    def make(content: Path, _: Path) -> None:
        path = content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))

    return make


def article(name: str = "bad.md", title: str = "Bad", **fields) -> Make:
    return text(name, article_text(title, **fields))


def without(field: str) -> Make:
    lines = article_text("Bad").splitlines(keepends=True)
    return text("bad.md", "".join(line for line in lines if not line.startswith(field)))


def replaced(old: str, new: str, title: str = "Bad") -> Make:
    return text("bad.md", article_text(title).replace(old, new))


BOMB = "\n".join(
    [
        "---",
        'title: "Bomb"',
        'webUrl: "https://x.example/a"',
        "publishedDateTime: 2024-01-01T00:00:00Z",
        "published: true",
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi")),
        "topics: [*i]",
        "---",
        "",
    ]
)


def symlink_out(content: Path, tmp: Path) -> None:
    secret = tmp / "secret.md"
    secret.write_text(article_text("Secret"))
    (content / "link.md").symlink_to(secret)


def symlink_loop(content: Path, tmp: Path) -> None:
    (content / "a.md").symlink_to(content / "b.md")
    (content / "b.md").symlink_to(content / "a.md")
    (content / "loop").symlink_to(content)


def folder_named_like_an_article(content: Path, tmp: Path) -> None:
    (content / "folder.md").mkdir()


def editor_files(content: Path, tmp: Path) -> None:
    for name in (
        ".bad.md.swp",
        "bad.md~",
        "#bad.md#",
        ".#bad.md",
        "bad.md.bak",
        "bad.md.tmp",
        ".hidden.md",
    ):
        (content / name).write_text(article_text("Editor leftover"))


NAMES = [
    "a/b",
    "a\\b",
    "..",
    "../../etc",
    "with  spaces",
    "emoji 🚀",
    "x" * 500,
    "CASE",
    "case",
    "nul\x00name",
]

ROWS = [
    Row("empty file", text("bad.md", b""), "error", "empty file"),
    Row("no front matter", text("bad.md", "# Just a heading\n"), "error", "no front matter"),
    Row("unterminated front matter", text("bad.md", "---\ntitle: x\n"), "error", "never closed"),
    Row("malformed YAML", text("bad.md", "---\ntitle: [x\n---\n"), "error", "invalid YAML"),
    Row("non-mapping YAML", text("bad.md", "---\n- a\n- b\n---\n"), "error", "key: value"),
    Row(
        "python tag",
        text("bad.md", "---\ntitle: !!python/object/apply:os.system [id]\n---\n"),
        "error",
        "invalid YAML",
    ),
    Row(
        "deep nesting",
        text("bad.md", "---\nx: " + "[" * 5000 + "]" * 5000 + "\n---\n"),
        "error",
        "nesting",
    ),
    Row("YAML alias bomb", text("bad.md", BOMB), "error", "aliases"),
    Row(
        "UTF-8 BOM",
        text("bad.md", b"\xef\xbb\xbf" + article_text("Bom").encode()),
        "accepted",
        titles=("Bom",),
    ),
    Row(
        "CRLF line endings",
        text("bad.md", article_text("Crlf").replace("\n", "\r\n")),
        "accepted",
        titles=("Crlf",),
    ),
    Row(
        "Latin-1 bytes",
        text("bad.md", article_text("Café").encode("latin-1")),
        "error",
        "not UTF-8",
    ),
    Row(
        "mojibake",
        article(title="the industryâ€™s future"),
        "warning",
        "mojibake",
        ("the industry’s future",),
    ),
    Row(
        "control characters in every field",
        article(
            title="Bell\x07 title",
            excerpt="nul\x00 here",
            topics=["Top\x01ic"],
            provider="Pro\x02vider",
        ),
        "warning",
        "XML does not allow",
        ("Bell title",),
    ),
    Row(
        "DEL and C1 control characters in every field",
        article(
            title="Red\x9b[31m alert\x7f\x81",
            excerpt="csi\x9d&#x8f; &#155;here",
            topics=["Top\x90ic"],
            provider="Pro\x8dvider",
        ),
        "warning",
        "control characters (DEL, U+0080-U+009F)",
        ("Red\u203a[31m alert",),
    ),
    Row(
        "markup in title and excerpt",
        article(title="<b>x</b> & ]]> <![CDATA[y]]>", excerpt="<script>alert(1)</script> &amp;"),
        "accepted",
        titles=("<b>x</b> & ]]> <![CDATA[y]]>",),
    ),
    Row("missing title", without("title"), "error", "no title"),
    Row("missing link", without("webUrl"), "error", "no usable link"),
    Row("relative link", article(webUrl="/relative"), "error", "no usable link"),
    Row("missing date", without("publishedDateTime"), "error", "publishedDateTime: missing"),
    Row(
        "date without timezone",
        article(title="Naive", time="12:00:00"),
        "warning",
        "without a timezone",
        ("Naive",),
    ),
    Row(
        "date only",
        replaced("'2024-05-01T12:00:00Z'", "2024-05-01", "Day"),
        "warning",
        "date without a time",
        ("Day",),
    ),
    Row(
        "RFC 2822 date",
        replaced("'2024-05-01T12:00:00Z'", "'Wed, 01 May 2024 12:00:00 GMT'", "Rfc"),
        "accepted",
        titles=("Rfc",),
    ),
    Row("impossible date", article(day="2023-02-30"), "error", "not a date"),
    Row("far future date", article(title="Later", day="9999-12-31", time="23:59:59Z"), "scheduled"),
    Row("far past date", article(day="0001-01-01"), "error", "before 1900"),
    Row("published as a string", article(published="true"), "warning", "not true or false"),
    Row("published as a number", article(published=1), "warning", "not true or false"),
    Row(
        "blank topic name",
        article(title="Blank topic", topics=["  ", "AI"]),
        "warning",
        "topic '  ' is blank",
        ("Blank topic",),
    ),
    Row(
        "blank provider name",
        article(title="Blank provider", provider="   "),
        "warning",
        "'provider' has no name",
        ("Blank provider",),
    ),
    Row(
        "hostile topic and provider names",
        article(title="Names", topics=NAMES, provider="../../etc/passwd"),
        "accepted",
        titles=("Names",),
    ),
    Row(
        "duplicate ids",
        lambda c, t: (
            article("a.md", "First", id="same")(c, t),
            article("b.md", "Second", id="same")(c, t),
        ),
        "error",
        "already used by",
        ("First",),
    ),
    Row(
        "duplicate links",
        lambda c, t: (
            article("a.md", "One", webUrl="https://x.example/s")(c, t),
            article("b.md", "Two", webUrl="https://x.example/s")(c, t),
        ),
        "accepted",
        titles=("One", "Two"),
    ),
    Row(
        "multi-megabyte field",
        article(excerpt="x" * 2_000_000),
        "error",
        "larger than max_file_bytes",
    ),
    Row(
        "long field within the size limit",
        article(title="Long", excerpt="y" * 200_000),
        "warning",
        "cut",
        ("Long",),
    ),
    Row(
        "unknown extra fields",
        article(title="Extra", flavour={"deep": [1, 2]}, rating=5),
        "accepted",
        titles=("Extra",),
    ),
    Row("symlink to a file outside", symlink_out, "error", "outside the content folder"),
    Row("symlink loops", symlink_loop, "error", "looping symlink"),
    Row("folder named like an article", folder_named_like_an_article, "ignored"),
    Row("editor temp and swap files", editor_files, "ignored"),
    Row("number as title", replaced("title: Bad", "title: 42"), "accepted", titles=("42",)),
]


def snapshot(root: Path, skip: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under root but `skip`, with its mtime and bytes (symlinks not followed)."""
    found = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = [d for d in dirs if here / d != skip]
        for name in files:
            path = here / name
            if path.is_symlink():
                found[str(path)] = (0, os.readlink(path).encode())
            else:
                found[str(path)] = (path.stat().st_mtime_ns, path.read_bytes())
    return found


# DEL and C1 (U+007F-U+009F) as UTF-8: 0x7F, or 0xC2 (only ever a lead byte) then 0x80-0x9F.
TERMINAL_CONTROL = re.compile(rb"\x7f|\xc2[\x80-\x9f]")


def check_feeds(out: Path) -> int:
    """Every output file parses as what it claims to be and holds no control character a
    terminal would obey; returns how many were checked."""
    schema = load_atom_schema()
    files = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")]
    for path in files:
        data = path.read_bytes()
        assert not TERMINAL_CONTROL.search(data), f"{path}: a DEL or C1 control character"
        if path.suffix in (".rss", ".atom"):
            parsed = feedparser.parse(data)
            assert not parsed.bozo, f"{path}: {parsed.get('bozo_exception')}"
            if path.suffix == ".atom":
                assert schema.validate(etree.fromstring(data)), f"{path}: {schema.error_log}"
        elif path.suffix == ".json":
            assert json.loads(data)["version"].startswith("https://jsonfeed.org/")
        elif path.suffix == ".opml":
            etree.fromstring(data)
    return len(files)


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_bad_input_keeps_the_run_going_and_gets_its_promised_treatment(tmp_path, row):
    content, out = tmp_path / "in", tmp_path / "out"
    content.mkdir()
    (content / "control.md").write_text(article_text("Control", day="2020-01-01"))
    row.make(content, tmp_path)
    before = snapshot(tmp_path, out)

    report = generate_once(content, out)

    assert snapshot(tmp_path, out) == before, "something outside the output folder changed"
    assert check_feeds(out) >= 5
    shown = [e.title for e in feedparser.parse((out / "all.atom").read_bytes()).entries]
    assert shown[-1] == "Control"  # the run went on
    assert sorted(shown[:-1]) == sorted(row.titles)
    errors = [p for p in report.problems if p.severity is Severity.ERROR]
    warnings = [p for p in report.problems if p.severity is Severity.WARNING]
    if row.verdict == "error":
        assert errors and all(str(p.path).startswith(str(content)) for p in errors)
        assert any(row.reason in p.reason for p in errors), [p.reason for p in errors]
        assert report.exit_code == 1
    elif row.verdict == "warning":
        assert not errors and any(row.reason in p.reason for p in warnings), report.problems
    else:
        assert not errors, [str(p) for p in errors]
    if row.verdict == "ignored":
        assert report.files_read == 1 and not report.problems
    if row.verdict == "scheduled":
        assert report.scheduled == 1
    for path in out.rglob("*"):
        assert path.resolve().is_relative_to(out.resolve())
        assert len(path.name.encode()) <= 255 and "\x00" not in path.name
