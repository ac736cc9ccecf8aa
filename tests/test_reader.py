"""reader: bytes -> front-matter mapping, with the line and reason when it cannot."""

from pathlib import Path

from feedsync.model import Problem
from feedsync.reader import FrontMatter, parse, read_file

P = Path("a.md")


def test_front_matter_is_read_with_the_line_of_each_key():
    fm = parse(b"---\ntitle: Hi\npublished: true\n---\n\nbody\n", P)
    assert isinstance(fm, FrontMatter)
    assert fm.data == {"title": "Hi", "published": True}
    assert fm.lines == {"title": 2, "published": 3}


def test_timestamps_stay_text_so_impossible_dates_are_reported_not_raised():
    fm = parse(b"---\npublishedDateTime: 2023-02-30T10:00:00Z\n---\n", P)
    assert isinstance(fm, FrontMatter)
    assert fm.data["publishedDateTime"] == "2023-02-30T10:00:00Z"


def test_bom_and_crlf_are_accepted():
    fm = parse(b"\xef\xbb\xbf---\r\ntitle: Hi\r\n---\r\n", P)
    assert isinstance(fm, FrontMatter) and fm.data == {"title": "Hi"}


def test_empty_file_is_reported():
    problem = parse(b"", P)
    assert isinstance(problem, Problem) and "empty" in problem.reason


def test_a_file_without_front_matter_is_reported_on_line_1():
    problem = parse(b"# Just markdown\n", P)
    assert isinstance(problem, Problem)
    assert problem.line == 1 and "no front matter" in problem.reason


def test_unterminated_front_matter_is_reported():
    problem = parse(b"---\ntitle: Hi\n", P)
    assert isinstance(problem, Problem) and "never closed" in problem.reason


def test_malformed_yaml_is_reported_with_its_file_line():
    problem = parse(b"---\ntitle: Hi\nexcerpt: [unclosed\n---\n", P)
    assert isinstance(problem, Problem)
    assert problem.line is not None and problem.line >= 3
    assert "invalid YAML" in problem.reason


def test_non_mapping_front_matter_is_reported():
    problem = parse(b"---\n- a\n- b\n---\n", P)
    assert isinstance(problem, Problem) and "expected 'key: value'" in problem.reason


def test_non_utf8_bytes_are_reported_with_their_line():
    problem = parse("---\ntitle: caf\u00e9\n---\n".encode("latin-1"), P)
    assert isinstance(problem, Problem)
    assert problem.line == 2 and "not UTF-8" in problem.reason


def test_python_tags_are_refused_by_safe_yaml():
    problem = parse(b"---\ntitle: !!python/object/apply:os.system ['true']\n---\n", P)
    assert isinstance(problem, Problem) and "invalid YAML" in problem.reason


def test_files_over_the_size_limit_are_not_read_whole(tmp_path):
    big = tmp_path / "big.md"
    big.write_bytes(b"---\ntitle: x\n---\n" + b"x" * 5000)
    problem = read_file(big, max_bytes=1000)
    assert isinstance(problem, Problem) and "max_file_bytes" in problem.reason
    assert read_file(big, max_bytes=10_000) == big.read_bytes()


def test_a_folder_named_like_an_article_is_reported(tmp_path):
    (tmp_path / "x.md").mkdir()
    problem = read_file(tmp_path / "x.md", 1000)
    assert isinstance(problem, Problem)


def test_merge_keys_and_numbers_still_go_the_librarys_way():
    assert parse(b"---\nbase: &b {a: 1}\n---\n", Path("x.md")).data == {"base": {"a": 1}}
    merged = parse(b"---\nbase: &b {a: 1}\nother:\n  <<: *b\n---\n", Path("x.md"))
    assert isinstance(merged, Problem) and "aliases" in merged.reason  # a merge needs an alias
    fm = parse(
        b"---\nn: 0x1A\nf: 1.5e+3\nyes_: yes\nd: 2024-01-02\nl: [1, two]\n---\n", Path("x.md")
    )
    assert fm.data == {"n": 26, "f": 1500.0, "yes_": True, "d": "2024-01-02", "l": [1, "two"]}
