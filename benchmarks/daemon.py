"""Benchmark for `feedsync run`: edit -> feed-on-disk latency, and the cost of one edit by size.

    .venv/bin/python benchmarks/daemon.py                      # 200 edits; sizes 1,000 / 10,000
    .venv/bin/python benchmarks/daemon.py --sizes 1000,10000,100000 --edits 300

Part 1 starts a real `feedsync run` (default debounce) on a folder of --articles files, saves
an article atomically (temp file + rename, as editors do) with a new title, and times until the
article's provider feed on disk holds that title; median and 99th percentile over --edits edits.
Part 2 measures, in-process, the work of one incremental run (`generate.run` with the changed
path) in folders of each size: per-edit work must not grow with the folder.
Synthetic folders are cached under --workdir; nothing is timed in the test suite.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from feedsync import config, generate, slug, status  # noqa: E402

import synth  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUN_ID = uuid.uuid4().hex[:12]  # cached folders keep earlier probes: make every title new


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def visible_articles(folder: Path, now: datetime) -> list[Path]:
    """Files that are published and not embargoed: an edit to them must reach a feed."""
    chosen = []
    for path in sorted(folder.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        when = re.search(r"publishedDateTime: (\S+)", text).group(1)
        if "published: true" in text and datetime.fromisoformat(when) <= now:
            chosen.append(path)
    return chosen


def save_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def retitle(path: Path, title: str) -> str:
    text = path.read_text(encoding="utf-8")
    return re.sub(r'^title: ".*"$', f'title: "{title}"', text, count=1, flags=re.M)


def provider_feed(out: Path, path: Path) -> Path:
    name = re.search(r"^  name: (.+)$", path.read_text(encoding="utf-8"), re.M).group(1)
    return out / "providers" / f"{slug.base_slug(name)}.atom"


def latency(workdir: Path, articles: int, edits: int) -> dict[str, float]:
    content = synth.make_folder(workdir / f"content-{articles}", articles)
    out = Path(tempfile.mkdtemp(prefix="latency-out-", dir=workdir))
    exe = Path(sys.executable).with_name("feedsync")
    cache = out.with_name(out.name + ".sqlite3")
    proc = subprocess.Popen(
        [
            str(exe),
            "run",
            "-q",
            "--content",
            str(content),
            "--output",
            str(out),
            "--cache",
            str(cache),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rng = random.Random(7)
    samples: list[float] = []
    try:
        deadline = time.monotonic() + 1800
        status_file = config.load(None, {"output_dir": out}).status_path
        while not (status.read(status_file) or {}).get("last_run"):  # the first run is done
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("feedsync run did not start")
            time.sleep(0.05)
        candidates = visible_articles(content, datetime.now(timezone.utc))
        for n in range(edits):
            path = rng.choice(candidates)
            token = f"Latency probe {n} {RUN_ID}"
            # The newest date as well as a new title: in a large folder an older article may sit
            # below the 50 items its provider feed shows, where no edit would ever appear.
            when = datetime.now(timezone.utc) - timedelta(seconds=1)
            text = re.sub(
                r"^publishedDateTime: .*$",
                f"publishedDateTime: {when:%Y-%m-%dT%H:%M:%SZ}",
                retitle(path, token),
                count=1,
                flags=re.M,
            )
            feed = provider_feed(out, path)
            started = time.perf_counter()
            save_atomically(path, text)
            needle = token.encode()
            while True:
                try:
                    if needle in feed.read_bytes():
                        break
                except FileNotFoundError:
                    pass
                if time.perf_counter() - started > 10:
                    raise SystemExit(f"edit {n} never reached {feed}")
                time.sleep(0.001)
            samples.append(time.perf_counter() - started)
            time.sleep(rng.uniform(0.0, 0.05))  # edits arrive one at a time, not in a burst
    finally:
        proc.terminate()
        peak_mb = float("nan")
        stop_by = time.monotonic() + 30
        while True:  # wait4, not wait: the daemon's peak RSS is part of the result
            pid, _, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                peak_mb = usage.ru_maxrss / 1024
                proc.returncode = 0
                break
            if time.monotonic() > stop_by:
                proc.kill()
                stop_by = float("inf")
            time.sleep(0.05)
        shutil.rmtree(out, ignore_errors=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{cache}{suffix}").unlink(missing_ok=True)
    return {
        "edits": len(samples),
        "p50_ms": statistics.median(samples) * 1000,
        "p99_ms": percentile(samples, 0.99) * 1000,
        "max_ms": max(samples) * 1000,
        "peak_rss_mb": peak_mb,
    }


def edit_cost(workdir: Path, size: int, edits: int, **settings: object) -> dict[str, float]:
    """The work of one incremental run per edit, as the daemon does it; `settings` on top of
    the defaults (benchmarks/archives.py compares archives on and off)."""
    content = synth.make_folder(workdir / f"content-{size}", size)
    out = Path(tempfile.mkdtemp(prefix="cost-out-", dir=workdir))
    try:
        cfg = config.load(None, {"content_dir": content, "output_dir": out, **settings})
        state = generate.State()
        now = datetime.now(timezone.utc)
        started = time.perf_counter()
        generate.run(cfg, now, state=state)
        cold = time.perf_counter() - started
        archived = [p for p in (out / "archive").rglob("*") if p.is_file()]
        archive_files, archive_bytes = len(archived), sum(p.stat().st_size for p in archived)
        gc.freeze()  # as `feedsync run` does after every full run
        rng = random.Random(size)
        candidates = visible_articles(content, now)
        samples = []
        for n in range(edits):
            path = rng.choice(candidates)
            # New title and the newest date: the article enters the top of every feed it is in,
            # so each edit re-renders the same kind of work whatever the folder size.
            when = now - timedelta(seconds=edits - n)
            text = re.sub(
                r"^publishedDateTime: .*$",
                f"publishedDateTime: {when:%Y-%m-%dT%H:%M:%SZ}",
                retitle(path, f"Cost probe {n} {RUN_ID}"),
                count=1,
                flags=re.M,
            )
            save_atomically(path, text)
            started = time.perf_counter()
            report = generate.run(cfg, now, state=state, changed=[path])
            samples.append(time.perf_counter() - started)
            assert report.files_read == 1 and report.written, report
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {
        "size": size,
        "cold_s": cold,
        "p50_ms": statistics.median(samples) * 1000,
        "p99_ms": percentile(samples, 0.99) * 1000,
        "archive_files": archive_files,
        "archive_mb": archive_bytes / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000, help="folder size for latency")
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument(
        "--sizes", default="1000,10000", help="comma-separated folder sizes for the per-edit cost"
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "feedsync-bench"
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)

    lat = latency(args.workdir, args.articles, args.edits)
    print(
        f"edit -> feed on disk, {args.articles} articles, {lat['edits']} atomic saves,"
        f" default debounce ({config.Config().debounce_ms} ms):"
    )
    print(
        f"  median {lat['p50_ms']:.0f} ms   p99 {lat['p99_ms']:.0f} ms"
        f"   max {lat['max_ms']:.0f} ms   (targets: median < 250 ms, p99 < 1000 ms)"
    )

    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"\ncost of one edit (incremental run, in-process, median of {min(args.edits, 100)} edits):"
    )
    print(
        f"  {'articles':>9}  {'cold run':>9}  {'edit p50':>9}  {'edit p99':>9}  {'vs first':>8}",
        flush=True,
    )
    base = None
    for size in sizes:
        cost = edit_cost(args.workdir, size, min(args.edits, 100))
        base = base or cost["p50_ms"]
        print(
            f"  {size:>9,}  {cost['cold_s']:>8.1f}s  {cost['p50_ms']:>7.1f}ms"
            f"  {cost['p99_ms']:>7.1f}ms  {cost['p50_ms'] / base:>7.2f}x"
        )
    print(
        "  (target: an edit in the largest folder costs no more than 2x one in the smallest)",
        flush=True,
    )


if __name__ == "__main__":
    main()
