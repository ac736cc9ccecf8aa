"""bytes -> front-matter mapping: size cap, decoding, the '---' split and safe YAML."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from feedsync.model import Problem

try:  # the C loader is ~10x faster; the pure-Python one is the same safe subset
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe YAML that keeps timestamps as text and refuses aliases.

    PyYAML turns `2023-02-30T00:00:00Z` into a ValueError from deep inside the loader;
    keeping the text lets `normalise` report it as a bad date on its own line.
    An alias (`*name`) makes one node appear many times: nine lines of them ("billion laughs")
    describe 10^9 strings, harmless to build but not to walk or print. Article files never need
    them, so a node met a second time is an error, and the work stays linear in the file size.
    """

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            raise ConstructorError(
                None, None, "aliases (*name) are not allowed in front matter", node.start_mark
            )
        # Fast paths for what front matter is made of (plain text, mappings with plain keys,
        # lists): the same values SafeConstructor builds, without its generic dispatch.
        # Everything else (numbers, booleans, merges, explicit tags) goes the library's way.
        tag = node.tag
        kind = node.__class__
        if kind is ScalarNode and tag == _STR:
            value = node.value
        elif (
            kind is MappingNode
            and tag == _MAP
            and not any(k.tag in _SPECIAL_KEYS for k, _ in node.value)
        ):
            value = {}
            self.constructed_objects[node] = value
            for key_node, value_node in node.value:
                key = self.construct_object(key_node)
                try:
                    hash(key)
                except TypeError:
                    raise ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        "found unhashable key",
                        key_node.start_mark,
                    )
                value[key] = self.construct_object(value_node)
            return value
        elif kind is SequenceNode and tag == _SEQ:
            value = []
            self.constructed_objects[node] = value
            value.extend(self.construct_object(child) for child in node.value)
            return value
        else:
            return super().construct_object(node, deep)
        self.constructed_objects[node] = value
        return value


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_SPECIAL_KEYS = ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")

_Loader.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)

_BOM = b"\xef\xbb\xbf"
_FENCE = re.compile(r"^---[ \t]*$")
_CLOSE = re.compile(r"^(---|\.\.\.)[ \t]*$")
_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:")


@dataclass(frozen=True, slots=True)
class FrontMatter:
    """The YAML mapping and the file line of each top-level key, for precise reports."""

    data: dict[str, Any]
    lines: dict[str, int]


def read_file(path: Path, max_bytes: int) -> bytes | Problem:
    """Read at most `max_bytes` (+1 to detect overflow) so a huge file cannot eat memory."""
    try:
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except IsADirectoryError:
        return Problem(path, None, "is a folder, not an article file")
    except OSError as exc:
        return Problem(path, None, f"cannot read: {exc.strerror or exc}")
    if len(data) > max_bytes:
        return Problem(path, None, f"larger than max_file_bytes ({max_bytes} bytes); skipped")
    return data


def parse(data: bytes, path: Path) -> FrontMatter | Problem:
    """Split the leading `---` block off `data` and load it as safe YAML."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return Problem(
            path,
            line,
            f"not UTF-8 text (byte 0x{data[exc.start]:02X}); save the file as UTF-8",
        )
    if not text.strip():
        return Problem(path, None, "empty file; an article starts with a '---' front-matter block")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not _FENCE.match(lines[0]):
        return Problem(path, 1, "no front matter: the file must start with a '---' line")
    end = next((i for i in range(1, len(lines)) if _CLOSE.match(lines[i])), None)
    if end is None:
        return Problem(path, 1, "front matter is never closed: add a '---' line after the YAML")
    body = "\n".join(lines[1:end])
    try:
        data_ = yaml.load(body, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # Errors found at the end of the block point at the closing fence: show the last YAML line.
        where = max(2, min(mark.line + 2, end)) if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return Problem(path, where, f"invalid YAML in front matter: {what}")
    except RecursionError:
        return Problem(path, None, "front matter is nested too deeply")
    except (ValueError, KeyError, IndexError, TypeError, OverflowError) as exc:
        # PyYAML's constructors raise these for values their tag cannot hold
        # (`!!int high`, `!!bool maybe`, an integer of 5,000 digits).
        return Problem(path, None, f"invalid YAML value in front matter: {exc}"[:300])
    if not isinstance(data_, dict):
        kind = "empty" if data_ is None else f"a {type(data_).__name__}"
        return Problem(path, 2, f"front matter is {kind}, expected 'key: value' lines")
    key_lines: dict[str, int] = {}
    for number, text_line in enumerate(lines[1:end], start=2):
        if m := _TOP_KEY.match(text_line):
            key_lines.setdefault(m.group(1), number)
    return FrontMatter({str(k): v for k, v in data_.items()}, key_lines)
