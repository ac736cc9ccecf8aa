"""scan: which files in the content folder are articles: patterns, ignore rules, symlinks.

Real folders, files and symlinks in tmp_path; a walk (`discover`, `walk`) and a single path the
watcher reports (`classify`) must follow one policy.
"""

import os
from pathlib import Path

import pytest

from feedsync import scan
from feedsync.errors import FeedsyncError
from feedsync.model import Problem

PATTERNS = ("*.md", "*.markdown", "*.txt")  # the default setting


def touch(folder: Path, *names: str) -> list[Path]:
    paths = []
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{name}\n")
        paths.append(path)
    return paths


def found(content: Path, patterns=PATTERNS, **options) -> list[str]:
    paths, problems = scan.discover(content, patterns, **options)
    assert problems == []
    return [p.relative_to(content).as_posix() for p in paths]


def test_articles_are_found_in_every_subfolder(tmp_path, write_article):
    write_article(tmp_path, "a.md")
    write_article(tmp_path / "2024" / "05", "b.markdown")
    write_article(tmp_path / "notes", "c.txt")
    assert found(tmp_path) == ["2024/05/b.markdown", "a.md", "notes/c.txt"]


def test_the_order_is_stable_and_that_of_sorted_paths(tmp_path):
    """A folder's files come before a sibling whose name only starts like the folder's."""
    touch(tmp_path, "a-b.md", "a/b.md", "a/c/d.md", "a.md", "B.md", "a/a.md", "a0.md")
    paths, _ = scan.discover(tmp_path, PATTERNS)
    assert paths == sorted(paths)
    assert found(tmp_path) == ["B.md", "a/a.md", "a/b.md", "a/c/d.md", "a-b.md", "a.md", "a0.md"]


def test_patterns_match_file_names_in_any_folder(tmp_path):
    touch(tmp_path, "a.txt", "deep/er/b.txt", "c.md", "d.txt.gz")
    assert found(tmp_path, ["*.txt"]) == ["a.txt", "deep/er/b.txt"]
    assert found(tmp_path, ["deep/*.txt"]) == []  # a pattern is for the name, not the path
    assert found(tmp_path, ["?.md", "*.txt"]) == ["a.txt", "c.md", "deep/er/b.txt"]


def test_hidden_temp_and_unmatched_files_are_not_articles(tmp_path, write_article):
    content = tmp_path / "in"
    write_article(content, "real.md", title="Real")
    for name in (".hidden.md", "real.md~", ".real.md.swp", "#real.md#", "notes.yaml", "x.bak"):
        write_article(content, name, title=name)
    write_article(content / ".git", "x.md", title="in .git")
    write_article(content / "sub" / ".cache", "y.md", title="in a hidden subfolder")
    write_article(content / "sub" / "deeper", "nested.markdown", title="Nested")
    assert found(content) == ["real.md", "sub/deeper/nested.markdown"]


@pytest.mark.parametrize(
    "name",
    [
        ".draft.md",
        "#draft.md#",
        "draft.md~",
        "~draft.md",
        ".draft.md.swp",
        "draft.md.swo",
        "draft.swx",
        "draft.md.tmp",
        "draft.TEMP",
        "draft.md.bak",
        "draft.md.orig",
        "draft.md.part",
        "draft.md.crdownload",
    ],
)
def test_editor_and_download_leftovers_are_never_articles_even_when_a_pattern_matches(
    tmp_path, name
):
    touch(tmp_path, name, "draft.md")
    assert scan.is_ignored(name)
    assert not scan.matches(name, ["*"])
    assert found(tmp_path, ["*"]) == ["draft.md"]
    assert scan.classify(tmp_path / name, tmp_path, ["*"]) is False


def test_a_missing_content_folder_says_what_to_do(tmp_path):
    with pytest.raises(FeedsyncError, match="does not exist: pass --content DIR") as exc:
        scan.discover(tmp_path / "nope", PATTERNS)
    assert exc.value.exit_code == 2
    (tmp_path / "file.md").write_text("")
    with pytest.raises(FeedsyncError, match="is not a folder"):
        scan.walk(tmp_path / "file.md", PATTERNS)


def test_an_output_folder_inside_the_content_folder_is_not_read(tmp_path, monkeypatch):
    content = tmp_path / "site"
    touch(content, "a.md", "out/feed.md", "out/topics/x.md", "outline/b.md")
    assert found(content, exclude=[content / "out"]) == ["a.md", "outline/b.md"]
    monkeypatch.chdir(tmp_path)  # an output folder named relative to the current folder
    assert found(content, exclude=[Path("site/out")]) == ["a.md", "outline/b.md"]
    assert found(content, exclude=[content / "out"], under=content / "out/topics") == []
    assert scan.classify(content / "out/feed.md", content, PATTERNS, [content / "out"]) is False


def test_walking_under_one_folder_lists_only_what_is_in_it(tmp_path):
    content = tmp_path / "in"
    touch(content, "a.md", "sub/b.md", "sub/deeper/c.md", "subway/d.md", ".hidden/e.md")
    assert found(content, under=content / "sub") == ["sub/b.md", "sub/deeper/c.md"]
    assert found(content, under=content / ".hidden") == []
    assert found(content, under=tmp_path) == []  # not inside the content folder


def test_a_reported_folder_that_has_gone_again_is_no_problem(tmp_path):
    """The watcher named a folder that was removed before the run: nothing to read or report."""
    touch(tmp_path, "a.md")
    assert scan.discover(tmp_path, PATTERNS, under=tmp_path / "gone") == ([], [])


def test_a_file_symlink_inside_the_content_folder_is_an_article(tmp_path):
    content = tmp_path / "in"
    [target] = touch(content, "drafts/real.md")
    (content / "published.md").symlink_to(target)
    (content / "relative.md").symlink_to(Path("drafts/real.md"))
    assert found(content) == ["drafts/real.md", "published.md", "relative.md"]
    assert scan.classify(content / "published.md", content, PATTERNS) is True


def test_a_symlink_to_a_file_outside_the_content_folder_is_refused_with_a_problem(tmp_path):
    content = tmp_path / "in"
    touch(content, "a.md")
    [secret] = touch(tmp_path / "secret", "s.md")
    (content / "link.md").symlink_to(secret)
    paths, problems = scan.discover(content, PATTERNS)
    assert paths == [content / "a.md"]
    assert [(p.path, p.line, p.reason) for p in problems] == [
        (content / "link.md", None, "symlink to a file outside the content folder; skipped")
    ]
    assert scan.classify(content / "link.md", content, PATTERNS) == problems[0]


def test_broken_and_looping_symlinks_are_reported_not_raised(tmp_path):
    touch(tmp_path, "a.md")
    (tmp_path / "broken.md").symlink_to(tmp_path / "missing.md")
    (tmp_path / "loop1.md").symlink_to(tmp_path / "loop2.md")
    (tmp_path / "loop2.md").symlink_to(tmp_path / "loop1.md")
    paths, problems = scan.discover(tmp_path, PATTERNS)
    assert paths == [tmp_path / "a.md"]
    assert sorted((p.path.name, p.reason) for p in problems) == [
        (name, "broken or looping symlink; skipped")
        for name in ("broken.md", "loop1.md", "loop2.md")
    ]


def test_folder_symlinks_are_not_followed_so_a_loop_cannot_hang_a_walk(tmp_path):
    content = tmp_path / "in"
    touch(content, "a.md", "sub/b.md")
    touch(tmp_path / "elsewhere", "outside.md")
    (content / "loop").symlink_to(content)
    (content / "elsewhere").symlink_to(tmp_path / "elsewhere")
    (content / "folder.md").symlink_to(content / "sub")  # a folder, whatever its name
    assert found(content) == ["a.md", "sub/b.md"]
    assert scan.classify(content / "folder.md", content, PATTERNS) is False
    # A single path (as the watcher reports one) through a folder symlink is refused the same
    # way, so it cannot reach a file outside the content folder either.
    assert scan.classify(content / "elsewhere/outside.md", content, PATTERNS) is False
    assert scan.classify(content / "loop/a.md", content, PATTERNS) is False
    assert scan.classify(content / "sub/b.md", content, PATTERNS) is True


def test_a_path_the_watcher_reports_is_judged_as_a_walk_judges_it(tmp_path):
    content, out = tmp_path / "in", tmp_path / "in/out"
    touch(content, "a.md", "sub/b.md", ".hidden.md", ".git/c.md", "out/d.md", "e.yaml", "f.md~")
    touch(tmp_path, "outside.md")
    (content / "inside.md").symlink_to(content / "sub/b.md")
    (content / "outside-link.md").symlink_to(tmp_path / "outside.md")
    (content / "broken.md").symlink_to(content / "gone.md")
    paths, problems = scan.discover(content, PATTERNS, exclude=[out])
    candidates = sorted(p for p in content.rglob("*") if p.is_symlink() or p.is_file())
    verdicts = {p: scan.classify(p, content, PATTERNS, [out]) for p in candidates}
    assert [p for p, verdict in verdicts.items() if verdict is True] == paths
    refused = [v for v in verdicts.values() if isinstance(v, Problem)]
    assert sorted(refused, key=str) == sorted(problems, key=str)
    assert {p.path.name for p in problems} == {"outside-link.md", "broken.md"}
    assert scan.classify(content / "sub", content, PATTERNS) is False  # a folder
    assert scan.classify(tmp_path / "outside.md", content, PATTERNS) is False


def test_walk_gives_each_article_its_path_relative_to_the_content_folder_and_its_stamp(tmp_path):
    a, b = touch(tmp_path, "a.md", "sub/b.md")
    entries, problems = scan.walk(tmp_path, PATTERNS)
    assert problems == []
    assert entries == [
        (str(a), "a.md", scan.stamp(a)),
        (str(b), "sub/b.md", scan.stamp(b)),
    ]
    assert scan.discover(tmp_path, PATTERNS)[0] == [a, b]


def test_a_stamp_is_time_size_and_inode_and_changes_when_the_file_is_replaced(tmp_path):
    [path] = touch(tmp_path, "a.md")
    st = os.stat(path)
    assert scan.stamp(path) == scan.stamp_of(st) == (st.st_mtime_ns, st.st_size, st.st_ino)
    assert scan.stamp(str(path)) == scan.stamp(path)
    before = scan.stamp(path)
    # An atomic save with the same size and time: only the inode tells it apart.
    fresh = tmp_path / ".a.md.tmp"
    fresh.write_text(path.read_text().upper())
    os.utime(fresh, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(fresh, path)
    assert scan.stamp(path) != before and scan.stamp(path)[:2] == before[:2]
    path.write_text("longer than before\n")
    assert scan.stamp(path)[1] == len("longer than before\n")


def test_a_file_that_has_gone_has_no_stamp(tmp_path):
    assert scan.stamp(tmp_path / "gone.md") is None
