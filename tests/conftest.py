"""Fixtures shared by the suite: article files in tmp_path folders, one-shot runs, shared data."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from feedsync import config, generate
from feedsync.model import Report

FIXED_NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "powerapps-news"
SCHEMAS = SHARED / "schemas"


@pytest.fixture(autouse=True, scope="session")
def _private_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the suite's caches and daemon status files (ours and any child process's) out of
    the user's ~/.cache and ~/.local/state, and loopback requests away from any proxy."""
    import os

    names = ("XDG_CACHE_HOME", "XDG_STATE_HOME", "NO_PROXY", "no_proxy")
    saved = {name: os.environ.get(name) for name in names}
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
    # Every server the suite talks to is on loopback: an http_proxy in the environment must not
    # carry feedparser's or urllib's requests away from it.
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"
    yield
    for name, old in saved.items():
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """`feedsync.cli.main` points the root logger at the stderr it finds, which in a test is
    pytest's capture of it: put the handlers back, so no later thread logs to a closed stream."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def status_path(out: Path) -> Path:
    """Where a daemon writing `out` (with default settings) keeps its status."""
    return config.load(None, {"output_dir": out}).status_path


def read_status(out: Path) -> dict[str, Any]:
    """The status of the daemon writing `out`, or {} when there is none yet."""
    from feedsync import status

    return status.read(status_path(out)) or {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under CI a skip is a failure: a missing tool or missing ../shared data must not leave
    the suite green while it checks less. Outside CI, skips stay, each with its reason."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must run every test: {reason}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite tests/golden/ from the current output"
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def article_text(
    title: str = "A title",
    *,
    day: str = "2024-05-01",
    time: str = "12:00:00Z",
    link: str | None = None,
    published: Any = True,
    provider: str | None = "Example News",
    domain: str = "news.example.com",
    topics: list[str] | None = None,
    images: list[dict[str, Any]] | None = None,
    excerpt: str | None = "An excerpt.",
    **extra: Any,
) -> str:
    """A front-matter file in the seed format, with overridable fields (None drops a field)."""
    slugged = "-".join(title.lower().split())[:40]
    fields: dict[str, Any] = {
        "category": "news",
        "title": title,
        "excerpt": excerpt,
        "publishedDateTime": f"{day}T{time}",
        "webUrl": link or f"https://news.example.com/{day}/{slugged}",
        "type": "article",
        "quality": 50,
        "heat": 50,
        "published": published,
        "provider": {"name": provider, "domain": domain} if provider else None,
        "topics": topics,
        "images": images,
        "secured": "c2VjcmV0;c2VjcmV0==",
    }
    fields.update(extra)
    body = yaml.safe_dump(
        {k: v for k, v in fields.items() if v is not None}, allow_unicode=True, sort_keys=False
    )
    return f"---\n{body}---\n\n"


@pytest.fixture
def write_article() -> Callable[..., Path]:
    def write(folder: Path, name: str, title: str = "A title", **fields: Any) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(article_text(title, **fields), encoding="utf-8")
        return path

    return write


def wait_until(
    condition: Callable[[], object], timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll until `condition()` is true: tests wait on what they expect, never on a sleep."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        threading.Event().wait(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class RunningClock:
    """A clock for `Daemon(clock=...)` that starts at a chosen time and ticks at the wall
    clock's pace: embargoes come out when it says, with no test waiting on a real date."""

    def __init__(self, start: datetime = FIXED_NOW) -> None:
        self._start = start
        self._began = time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._began)


def titles(path: Path) -> list[str]:
    """The item titles of a feed file as feedparser reads them ([] while it does not exist)."""
    import feedparser

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return [e.title for e in feedparser.parse(data).entries]


def subscriptions(out: Path, pattern: str = "*.atom") -> list[Path]:
    """The feeds' own files in the output (the archive documents aside), sorted."""
    return sorted(p for p in out.rglob(pattern) if p.relative_to(out).parts[0] != "archive")


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` by relative path: outputs compared byte for byte."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def generate_once(content: Path, out: Path, now: datetime = FIXED_NOW, **settings: Any) -> Report:
    """One `feedsync generate` through the library, as the CLI runs it."""
    cfg = config.load(None, {"content_dir": content, "output_dir": out, **settings})
    return generate.run(cfg, now)


def feedsync_command() -> list[str]:
    """The installed console script (as a user runs it), else `python -m feedsync`."""
    exe = Path(sys.executable).with_name("feedsync")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "feedsync"]


@contextmanager
def feedsync_process(*args: str, **popen: Any) -> Iterator[subprocess.Popen]:
    """`feedsync ARGS` as a child process that never outlives the test."""
    proc = subprocess.Popen([*feedsync_command(), *args], text=True, **popen)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def load_atom_schema():  # -> lxml.etree.RelaxNG
    """RFC 4287's RELAX NG schema from ../shared/schemas (converted with rnc2rng).

    Absent, the calling test skips, saying so (and under CI that skip is a failure): a check
    is never dropped silently.
    """
    rnc = SCHEMAS / "atom.rnc"
    if not rnc.is_file():
        pytest.skip(f"RFC 4287 schema {rnc} is not available (test data in ../shared)")
    return _atom_schema(rnc)


@functools.lru_cache(maxsize=1)
def _atom_schema(rnc: Path):  # -> lxml.etree.RelaxNG
    import rnc2rng
    from lxml import etree

    rng = rnc2rng.dumps(rnc2rng.load(str(rnc)))
    # rnc2rng declares the compact syntax's `namespace local = ""` as xmlns:local="", which
    # lxml rejects (an empty prefixed namespace is not allowed in XML 1.0 namespaces).
    rng = rng.replace(' xmlns:local=""', "")
    return etree.RelaxNG(etree.fromstring(rng.encode("utf-8")))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 192 kB tmpfs (48 pages) mounted as the output folder `tmp_path/out`; always unmounted.

    Needs root (mount); skips with that reason elsewhere. CI runs as root.
    """
    mount = tmp_path / "out"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=192k,mode=0755", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def remount(folder: Path, mode: str) -> None:
    """Make a mounted tmpfs read-only ("ro") or writable again ("rw"): root ignores mode bits."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(folder)], check=True)
