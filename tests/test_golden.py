"""Byte-exact output for a fixed content folder: rendering changes show up as a reviewable diff."""

import shutil
from pathlib import Path

from conftest import FIXED_NOW, generate_once, tree

GOLDEN = Path(__file__).parent / "golden"


def test_output_matches_the_golden_files_byte_for_byte(tmp_path, update_golden):
    out = tmp_path / "out"
    generate_once(GOLDEN / "content", out, now=FIXED_NOW, base_url="https://feeds.example.org/")
    if update_golden:
        shutil.rmtree(GOLDEN / "output", ignore_errors=True)
        shutil.copytree(out, GOLDEN / "output")
    expected = tree(GOLDEN / "output")
    actual = tree(out)
    assert sorted(actual) == sorted(expected), "run pytest --update-golden after an intended change"
    for name, data in expected.items():
        assert actual[name] == data, f"{name} differs; run pytest --update-golden if intended"
