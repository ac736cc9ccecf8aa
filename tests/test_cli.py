"""cli: the commands a user types, their summary line and their exit codes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from feedsync import __version__
from feedsync.cli import main

from conftest import ROOT


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_generate_prints_a_summary_and_a_second_run_writes_nothing(tmp_path, write_article, capsys):
    write_article(tmp_path / "in", "a.md", title="A", topics=["AI"])
    args = (
        "generate",
        "--content",
        str(tmp_path / "in"),
        "--output",
        str(tmp_path / "out"),
        "--now",
        "2026-01-01T00:00:00Z",
    )
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert out.strip() == (
        "1 files read, 1 articles published (0 scheduled), 3 feeds:"
        " 21 files written, 0 unchanged, 0 removed; 0 files with errors"
    )
    code, out, _ = run(capsys, *args)
    assert code == 0 and "0 files written, 21 unchanged" in out


def test_a_file_with_errors_exits_1_and_names_the_file_and_line(tmp_path, write_article, capsys):
    write_article(tmp_path / "in", "good.md", title="Good")
    (tmp_path / "in/bad.md").write_text(
        "---\ntitle: Bad\npublishedDateTime: 2024-13-01T00:00:00Z\n"
        "webUrl: https://x.example/\n---\n"
    )
    code, out, err = run(
        capsys, "generate", "--content", str(tmp_path / "in"), "--output", str(tmp_path / "out")
    )
    assert code == 1
    assert f"{tmp_path / 'in' / 'bad.md'}:3: error: publishedDateTime" in err
    assert "1 files with errors" in out
    assert (tmp_path / "out/all.atom").exists()


def test_a_bad_configuration_exits_2_and_writes_nothing(tmp_path, capsys, monkeypatch):
    """Which settings are refused, and that all are named at once: tests/test_config.py."""
    cfg = tmp_path / "feedsync.yaml"
    cfg.write_text("base_url: /feeds/\nbogus: 1\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "generate", "--config", str(cfg), "--content", str(tmp_path))
    assert code == 2 and out == ""
    assert err.startswith(f"Error: {cfg}: bad configuration: ") and err.count("\n") == 1
    assert "base_url" in err and "bogus: unknown setting" in err
    assert not (tmp_path / "output").exists()


def test_a_missing_content_folder_says_what_to_do(tmp_path, capsys):
    code, _, err = run(
        capsys, "generate", "--content", str(tmp_path / "nope"), "--output", str(tmp_path / "out")
    )
    assert code == 2 and "does not exist" in err and "--content" in err


def test_an_unwritable_output_folder_exits_3(tmp_path, write_article, capsys):
    write_article(tmp_path / "in", "a.md")
    (tmp_path / "out").write_text("a file where the folder should be")
    code, _, err = run(
        capsys, "generate", "--content", str(tmp_path / "in"), "--output", str(tmp_path / "out")
    )
    assert code == 3 and "cannot write" in err


def test_check_validates_and_writes_nothing(tmp_path, write_article, capsys, monkeypatch):
    write_article(tmp_path / "in", "a.md")
    (tmp_path / "in/b.md").write_text("no front matter\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "check", "--content", str(tmp_path / "in"))
    assert code == 1 and "b.md:1: error: no front matter" in err
    assert "2 files checked, 1 articles valid" in out
    assert not (tmp_path / "output").exists() and not (tmp_path / "out").exists()


def test_quiet_prints_no_summary_and_bad_usage_exits_2(tmp_path, write_article, capsys):
    write_article(tmp_path / "in", "a.md")
    code, out, _ = run(
        capsys,
        "generate",
        "-q",
        "--content",
        str(tmp_path / "in"),
        "--output",
        str(tmp_path / "out"),
    )
    assert code == 0 and out == ""
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--no-such-flag"])
    assert exc.value.code == 2


def test_the_default_config_and_folders_are_found_from_the_current_folder(
    tmp_path, monkeypatch, write_article, capsys
):
    (tmp_path / "config").mkdir()
    (tmp_path / "config/feedsync.yaml").write_text("site_title: My news\n")
    write_article(tmp_path / "seeds", "a.md")
    monkeypatch.chdir(tmp_path)
    code, _, _ = run(capsys, "generate")
    assert code == 0
    assert "<title>My news</title>" in (tmp_path / "output/all.rss").read_text()


def test_the_installed_command_runs_on_the_bundled_seeds(tmp_path):
    exe = Path(sys.executable).with_name("feedsync")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "feedsync"]
    version = subprocess.run([*command, "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"feedsync {__version__}"
    done = subprocess.run(
        [
            *command,
            "generate",
            "--config",
            str(ROOT / "config/feedsync.yaml"),
            "--content",
            str(ROOT / "seeds"),
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    assert done.returncode == 0, done.stderr
    assert "0 files with errors" in done.stdout
    assert (tmp_path / "out/all.rss").exists() and (tmp_path / "out/all.atom").exists()


def test_each_command_offers_only_the_options_it_uses(capsys):
    for command, absent in (
        ("check", "--output"),
        ("status", "--now"),
        ("status", "--content"),
        ("serve", "--no-cache"),
    ):
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0
        assert absent not in capsys.readouterr().out, (command, absent)
    with pytest.raises(SystemExit) as exc:
        main(["check", "--output", "out"])
    assert exc.value.code == 2


def test_verbose_and_quiet_together_are_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "-v", "-q"])
    assert exc.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_serve_on_a_missing_folder_exits_2_saying_what_to_do(tmp_path, capsys):
    code, _, err = run(capsys, "serve", "--output", str(tmp_path / "nope"), "--bind", "127.0.0.1:0")
    assert code == 2 and "does not exist" in err and "feedsync generate" in err
