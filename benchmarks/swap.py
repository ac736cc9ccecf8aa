"""Benchmark for `feedsync run` following a replaced content folder, as deploys replace them.

    .venv/bin/python benchmarks/swap.py                    # 10,000 articles, 3 swaps of each kind
    .venv/bin/python benchmarks/swap.py --articles 1000 --swaps 5

A real `feedsync run --serve` watches a synthetic folder. Each swap prepares a copy of the
current release (`cp -a`: same modification times, new inodes) with one article changed (a new
title and the newest date), then replaces the folder in one step and times until the feed of
everything, fetched over HTTP from the daemon's server, shows the new title:
- symlink swap: `content_dir: current`, `ln -sfn releaseN current.tmp && mv -T current.tmp
  current`;
- folder rename: `content_dir: content`, `mv content content.old && mv content.new content`.
It also reports how many files the run after the swap read: the target is the one that changed.
Target (issue 11): under 2 s from the swap to the new content in the served feed.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feedsync import config, status  # noqa: E402

import synth  # noqa: E402

RUN_ID = uuid.uuid4().hex[:8]


def _changed_release(source: Path, target: Path, token: str) -> None:
    """`cp -a source target`, then give one published article a new title and the newest date."""
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)
    for path in sorted(target.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        if "published: true" in text and "publishedDateTime: 202" in text:
            when = datetime.now(timezone.utc) - timedelta(seconds=1)
            text = re.sub(r"^title: .*$", f'title: "{token}"', text, count=1, flags=re.M)
            text = re.sub(
                r"^publishedDateTime: .*$",
                f"publishedDateTime: {when:%Y-%m-%dT%H:%M:%SZ}",
                text,
                count=1,
                flags=re.M,
            )
            path.write_text(text, encoding="utf-8")
            return
    raise SystemExit("no published article to change")


def _wait_for(url: str, needle: bytes, started: float, limit: float = 30.0) -> float:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                if needle in response.read():
                    return time.perf_counter() - started
        except OSError:
            pass
        if time.perf_counter() - started > limit:
            raise SystemExit(f"the new content never reached {url}")
        time.sleep(0.005)


def _daemon(content: Path, out: Path, cache: Path, log: Path) -> tuple[subprocess.Popen, str]:
    exe = Path(sys.executable).with_name("feedsync")
    proc = subprocess.Popen(
        [
            str(exe),
            "run",
            "--serve",
            "127.0.0.1:0",
            "--content",
            str(content),
            "--output",
            str(out),
            "--cache",
            str(cache),
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    status_file = config.load(None, {"output_dir": out}).status_path
    deadline = time.monotonic() + 1800
    while True:
        data = status.read(status_file) or {}
        if data.get("pid") == proc.pid and data.get("last_run") and data.get("serving"):
            return proc, data["serving"]
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"feedsync run did not start; see {log}")
        time.sleep(0.05)


def _files_read(out: Path) -> int:
    data = status.read(config.load(None, {"output_dir": out}).status_path) or {}
    return int((data.get("last_run") or {}).get("files_read", -1))


def measure(kind: str, workdir: Path, articles: int, swaps: int) -> list[tuple[float, int]]:
    base = synth.make_folder(workdir / f"content-{articles}", articles)
    root = Path(tempfile.mkdtemp(prefix=f"swap-{kind}-", dir=workdir))
    out, cache, log = root / "out", root / "cache.sqlite3", root / "feedsync.log"
    first = root / "release0"
    subprocess.run(["cp", "-a", str(base), str(first)], check=True)
    content = root / ("current" if kind == "symlink" else "content")
    if kind == "symlink":
        content.symlink_to(first)
    else:
        first.rename(content)
    proc, url = _daemon(content, out, cache, log)
    results = []
    try:
        current = first if kind == "symlink" else content
        for n in range(1, swaps + 1):
            token = f"Swap probe {kind} {n} {RUN_ID}"
            new = root / f"release{n}"
            _changed_release(current, new, token)
            time.sleep(1.0)  # the copy's own events are long settled: time only the swap
            started = time.perf_counter()
            if kind == "symlink":
                (root / "current.tmp").symlink_to(new)
                subprocess.run(["mv", "-T", str(root / "current.tmp"), str(content)], check=True)
                old, current = current, new
            else:
                content.rename(root / f"content.old{n}")
                new.rename(content)
                old = root / f"content.old{n}"
            seconds = _wait_for(url + "all.atom", token.encode(), started)
            time.sleep(0.3)  # the status is written just after the feeds
            results.append((seconds, _files_read(out)))
            shutil.rmtree(old, ignore_errors=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--swaps", type=int, default=3)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "feedsync-bench"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    random.seed(0)
    figures = {}
    print(
        f"swap -> new content in the served feed, {args.articles:,} articles,"
        f" {args.swaps} swaps each (target: < 2 s; files read: 1)"
    )
    for kind in ("symlink", "rename"):
        results = measure(kind, args.workdir, args.articles, args.swaps)
        times = [s for s, _ in results]
        reads = [r for _, r in results]
        figures[kind] = {"seconds": times, "files_read": reads}
        print(
            f"  {kind:>8}: median {statistics.median(times) * 1000:.0f} ms,"
            f" max {max(times) * 1000:.0f} ms; files read after the swap: {reads}",
            flush=True,
        )
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
