"""The benchmark suite: whole `feedsync` processes against the floor, by folder size.

    .venv/bin/python benchmarks/run.py                        # sizes 1,000 and 10,000
    .venv/bin/python benchmarks/run.py --sizes 1000,10000,100000 --json results.json

Scenarios per size, each repeated (best and median of --repeat), wall time and peak RSS:
- floor:    a minimal Python process that reads every file and parses its front matter with
            PyYAML's C loader: the cost no Python implementation can avoid;
- cold:     `feedsync generate` into an empty output folder with no cache (defaults: every
            format and the feed pages);
- cold rss: the same with `formats: [rss]`, the like-for-like comparison with Hugo;
- no-op:    `feedsync generate` again, nothing changed (the cache from the cold run);
- one edit: one article retitled, then the command again;
- daemon:   `feedsync run`, edit (atomic save) -> updated feed on disk, p50 and p99 over
            --edits edits (see benchmarks/daemon.py);
- hugo:     when `hugo` is installed (Debian package hugo), the same articles as a Hugo site
            whose outputs are RSS per topic and per provider taxonomy term, built cold.
Every figure is also shown as a ratio to the floor measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import daemon as daemon_bench  # noqa: E402

import synth  # noqa: E402

FLOOR = r"""
import sys, yaml
from pathlib import Path
for path in sorted(Path(sys.argv[1]).rglob("*.md")):
    text = path.read_text(encoding="utf-8")
    end = text.find("\n---", 3)
    yaml.load(text[4:end], Loader=yaml.CSafeLoader)
"""


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed")
    return wall, usage.ru_maxrss / 1024


def repeat(times: int, run, prepare=None) -> dict[str, float]:
    walls, rss = [], []
    for _ in range(times):
        if prepare:
            prepare()
        wall, peak = run()
        walls.append(wall)
        rss.append(peak)
    return {"best_s": min(walls), "median_s": statistics.median(walls), "peak_rss_mb": max(rss)}


def hugo_site(content: Path, site: Path) -> None:
    """The same articles as a Hugo site with RSS per topic and per provider term."""
    shutil.rmtree(site, ignore_errors=True)
    (site / "content/posts").mkdir(parents=True)
    (site / "hugo.toml").write_text(
        'baseURL = "http://127.0.0.1:8080/"\ntitle = "bench"\n'
        "disableKinds = ['home', 'section', 'sitemap', 'robotsTXT', '404']\n"
        "[taxonomies]\n  topic = 'topics'\n  provider = 'providers'\n"
        "[outputs]\n  page = []\n  taxonomy = []\n  term = ['RSS']\n"
        "[services.rss]\n  limit = 50\n"
    )
    for path in content.rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        if "published: true" not in text:
            continue
        provider = re.search(r"^  name: (.+)$", text, re.M).group(1)
        text = text.replace("publishedDateTime:", "date:", 1)
        text = text.replace("\n---\n", f'\nproviders: ["{provider}"]\n---\n', 1)
        (site / "content/posts" / path.name).write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--edits", type=int, default=200, help="daemon edits per size")
    parser.add_argument("--no-daemon", action="store_true", help="skip the daemon scenario")
    parser.add_argument("--json", type=Path, default=Path("benchmark-results.json"))
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "feedsync-bench"
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    exe = str(Path(sys.executable).with_name("feedsync"))
    hugo = shutil.which("hugo")
    results: dict[str, dict[str, object]] = {}

    for size in (int(s) for s in args.sizes.split(",")):
        content = synth.make_folder(args.workdir / f"content-{size}", size)
        out = args.workdir / f"out-{size}"
        row: dict[str, object] = {}
        row["floor"] = repeat(
            args.repeat, lambda: timed([sys.executable, "-c", FLOOR, str(content)])
        )
        cache = args.workdir / f"cache-{size}.sqlite3"
        generate = [
            exe,
            "generate",
            "-q",
            "--content",
            str(content),
            "--output",
            str(out),
            "--cache",
            str(cache),
        ]

        def empty(*paths: Path) -> None:
            for path in paths:
                shutil.rmtree(path, ignore_errors=True)
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)

        rss_only = args.workdir / "rss-only.yaml"
        rss_only.write_text("formats: [rss]\n")
        out_rss, cache_rss = args.workdir / f"out-rss-{size}", args.workdir / f"cache-rss-{size}"
        row["cold rss"] = repeat(
            args.repeat,
            lambda: timed(
                [
                    exe,
                    "generate",
                    "-q",
                    "--config",
                    str(rss_only),
                    "--content",
                    str(content),
                    "--output",
                    str(out_rss),
                    "--cache",
                    str(cache_rss),
                ]
            ),
            prepare=lambda: empty(out_rss, cache_rss),
        )
        empty(out_rss, cache_rss)
        row["cold"] = repeat(
            args.repeat, lambda: timed(generate), prepare=lambda: empty(out, cache)
        )
        row["no-op"] = repeat(args.repeat, lambda: timed(generate))
        victim = sorted(content.rglob("*.md"))[0]
        counter = iter(range(10**9))

        def edit() -> None:
            daemon_bench.save_atomically(
                victim,
                daemon_bench.retitle(victim, f"Edited {next(counter)} {daemon_bench.RUN_ID}"),
            )

        row["one edit"] = repeat(args.repeat, lambda: timed(generate), prepare=edit)
        if not args.no_daemon:
            lat = daemon_bench.latency(args.workdir, size, args.edits)
            row["daemon"] = {
                "p50_ms": lat["p50_ms"],
                "p99_ms": lat["p99_ms"],
                "peak_rss_mb": lat["peak_rss_mb"],
            }
        if hugo:
            site = args.workdir / f"hugo-{size}"
            hugo_site(content, site)
            row["hugo"] = repeat(
                args.repeat,
                lambda: timed([hugo, "--quiet", "-s", str(site), "-d", str(site / "public")]),
                prepare=lambda: shutil.rmtree(site / "public", ignore_errors=True),
            )
        results[str(size)] = row
        print_table(size, row, hugo is not None)

    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten {args.json}")


def print_table(size: int, row: dict[str, object], have_hugo: bool) -> None:
    floor = row["floor"]["median_s"]  # type: ignore[index]
    print(f"\n{size:,} articles")
    print(f"  {'scenario':<10} {'best':>8} {'median':>8} {'vs floor':>9} {'peak RSS':>9}")
    for name in ("floor", "cold", "cold rss", "no-op", "one edit", "hugo"):
        if name not in row:
            if name == "hugo" and not have_hugo:
                print("  hugo       (not installed: apt-get install hugo)")
            continue
        r = row[name]
        print(
            f"  {name:<10} {r['best_s']:>7.2f}s {r['median_s']:>7.2f}s"  # type: ignore[index]
            f" {r['median_s'] / floor:>8.2f}x {r['peak_rss_mb']:>7.0f}MB"
        )  # type: ignore[index]
    if "daemon" in row:
        d = row["daemon"]
        print(
            f"  {'daemon':<10} edit -> feed p50 {d['p50_ms']:.0f} ms,"  # type: ignore[index]
            f" p99 {d['p99_ms']:.0f} ms, peak RSS {d['peak_rss_mb']:.0f} MB"
        )  # type: ignore[index]
    if "hugo" in row:
        hugo = row["hugo"]["median_s"]  # type: ignore[index]
        print(
            f"  cold vs hugo: {row['cold']['median_s'] / hugo:.2f}x"  # type: ignore[index]
            f" (RSS only: {row['cold rss']['median_s'] / hugo:.2f}x)"
        )  # type: ignore[index]
    if size in TARGETS:
        print_targets(size, row)
    sys.stdout.flush()


# Issue 7's targets by folder size: ratio to the floor, ratio to Hugo, milliseconds, megabytes.
TARGETS = {
    10_000: {"cold": 1.5, "no-op": 0.15, "one edit": 0.2, "rss_mb": 200},
    100_000: {"cold": 1.5, "no-op": 0.1, "one edit": 0.1, "rss_mb": 400},
}


def print_targets(size: int, row: dict[str, object]) -> None:
    """Each target of the issue with the measured figure and whether it holds."""
    floor = row["floor"]["median_s"]  # type: ignore[index]
    t = TARGETS[size]
    checks = []
    for name in ("cold", "no-op", "one edit"):
        ratio = row[name]["median_s"] / floor  # type: ignore[index]
        checks.append((f"{name} / floor", f"{ratio:.3f}x", f"<= {t[name]}x", ratio <= t[name]))
    if "hugo" in row:
        ratio = row["cold"]["median_s"] / row["hugo"]["median_s"]  # type: ignore[index]
        checks.append(("cold / hugo", f"{ratio:.3f}x", "<= 1.0x", ratio <= 1.0))
    if "daemon" in row:
        d = row["daemon"]
        checks.append(
            (
                "daemon p50",
                f"{d['p50_ms']:.0f} ms",
                "< 250 ms",  # type: ignore[index]
                d["p50_ms"] < 250,
            )
        )  # type: ignore[index]
        checks.append(
            (
                "daemon p99",
                f"{d['p99_ms']:.0f} ms",
                "< 1000 ms",  # type: ignore[index]
                d["p99_ms"] < 1000,
            )
        )  # type: ignore[index]
    peak = max(
        r["peak_rss_mb"]
        for k, r in row.items()  # type: ignore[index]
        if k not in ("floor", "hugo")
    )
    checks.append(("peak RSS", f"{peak:.0f} MB", f"<= {t['rss_mb']} MB", peak <= t["rss_mb"]))
    print(f"  targets at {size:,}:")
    for what, got, want, ok in checks:
        print(f"    {what:<15} {got:>9}  {want:<10} {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
