"""The README is the manual: its commands and settings must match the product."""

import dataclasses
import re

from feedsync.cli import build_parser
from feedsync.config import Config, load

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def subcommands() -> list[str]:
    action = next(a for a in build_parser()._subparsers._group_actions)  # noqa: SLF001
    return sorted(action.choices)


def test_every_command_is_documented_with_an_example():
    for name in subcommands():
        assert f"feedsync {name}" in README, f"README does not document 'feedsync {name}'"
        assert "Example:" in build_parser()._subparsers._group_actions[0].choices[name].epilog


def test_quick_start_has_exactly_the_two_commands_and_ci_runs_the_test_one():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.+?)\n```", quick)
    assert len(commands) == 2
    assert commands[0].endswith("feedsync generate")
    assert commands[1] in (ROOT / ".ci/run").read_text()


def test_every_setting_is_documented_in_the_readme_and_the_sample_config():
    sample = (ROOT / "config/feedsync.yaml").read_text()
    for field in dataclasses.fields(Config):
        assert f"| `{field.name}` |" in README, field.name
        assert re.search(rf"^{field.name}:", sample, re.M), field.name


def test_the_sample_config_holds_the_defaults():
    assert load(ROOT / "config/feedsync.yaml") == Config()
