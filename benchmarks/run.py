"""The benchmark suite: whole `feedsync` processes against the floor and Hugo, by folder size.

    .venv/bin/python benchmarks/run.py                        # sizes 1,000 and 10,000
    .venv/bin/python benchmarks/run.py --sizes 10000,100000 --json results.json

Scenarios per size, each repeated (best and median of --repeat), wall time and peak RSS:
- floor:    a minimal Python process that reads every file and parses its front matter with
            PyYAML's C loader: the cost no Python implementation can avoid;
- hugo:     when `hugo` is installed (Debian package hugo), the same articles as a Hugo site
            whose outputs are RSS and Atom (a custom output format and template) for every
            topic and provider taxonomy term, built cold;
- like-for-like: `feedsync generate` cold with `formats: [rss, atom]` and `archives: false`
            (what Hugo builds: no JSON Feed, no feed pages, no archives);
- cold:     `feedsync generate` cold with the defaults (every format, feed pages, archives);
- no-op:    `feedsync generate` again, nothing changed (the cache from the cold run);
- one edit: one article retitled, then the command again;
- daemon:   `feedsync run`, edit (atomic save) -> updated feed on disk, p50 and p99 over
            --edits edits (see benchmarks/daemon.py);
- cache:    the cache file's size after the cold run, per article.
Every cold build (feedsync's and Hugo's) goes into a folder that never existed: on this
machine's ext4 (mounted with `discard`), creating files where a tree was just deleted costs up
to six times more, which would measure the disk's trim, not the program. Every figure is also
a ratio to the floor measured in the same run; the targets of the issue are printed as met or
MISSED.

Where a cold run's time goes, across all its processes (py-spy from PyPI):

    py-spy record --subprocesses -r 250 --format raw -o profile.txt -- \
        .venv/bin/feedsync generate -q --content /tmp/feedsync-bench/content-10000 \
        --output /tmp/feedsync-bench/profile-out --cache /tmp/feedsync-bench/profile.sqlite3
"""

from __future__ import annotations

import argparse
import itertools
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

# Hugo's Atom: an output format of its own with a template (Hugo has none built in).
HUGO_ATOM = """{{ printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{{ .Title }} — {{ .Site.Title }}</title>
  {{- with .OutputFormats.Get "Atom" }}
  <id>{{ .Permalink }}</id>
  <link href="{{ .Permalink }}" rel="self" type="application/atom+xml"/>
  {{- end }}
  <updated>{{ (index .Pages 0).Date.Format "2006-01-02T15:04:05Z07:00" }}</updated>
  {{- range first 50 .Pages }}
  <entry>
    <title>{{ .Title }}</title>
    <link href="{{ .Params.webUrl }}"/>
    <id>{{ .Permalink }}</id>
    <updated>{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}</updated>
    <summary>{{ .Params.excerpt }}</summary>
  </entry>
  {{- end }}
</feed>
"""


# Children keep compiled bytecode as a normal Python does (a sandbox's PYTHONDONTWRITEBYTECODE
# would make every process compile feedsync again, ~50 ms).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=CHILD_ENV
    )
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
    """The same articles as a Hugo site with RSS and Atom per topic and per provider term."""
    shutil.rmtree(site, ignore_errors=True)
    (site / "content/posts").mkdir(parents=True)
    (site / "layouts/_default").mkdir(parents=True)
    (site / "layouts/_default/term.atom.atom").write_text(HUGO_ATOM)
    (site / "hugo.toml").write_text(
        'baseURL = "http://127.0.0.1:8080/"\ntitle = "bench"\n'
        "disableKinds = ['home', 'section', 'sitemap', 'robotsTXT', '404']\n"
        "[taxonomies]\n  topic = 'topics'\n  provider = 'providers'\n"
        '[mediaTypes."application/atom+xml"]\n  suffixes = ["atom"]\n'
        "[outputFormats.Atom]\n  mediaType = 'application/atom+xml'\n  baseName = 'index'\n"
        "  isPlainText = false\n  rel = 'alternate'\n"
        "[outputs]\n  page = []\n  taxonomy = []\n  term = ['RSS', 'Atom']\n"
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


class Fresh:
    """Folders that never existed, one per cold build; each is deleted after its timing."""

    def __init__(self, workdir: Path, name: str) -> None:
        self.workdir, self.name = workdir, name
        self.serial = itertools.count()
        self.current: Path | None = None

    def next(self) -> Path:
        self.drop()
        self.current = self.workdir / f"{self.name}-{os.getpid()}-{next(self.serial)}"
        return self.current

    def drop(self) -> None:
        """Remove the last one, and let the disk finish with it before the next timing."""
        if self.current is not None:
            shutil.rmtree(self.current, ignore_errors=True)
            for suffix in (".sqlite3", ".sqlite3-wal", ".sqlite3-shm"):
                Path(f"{self.current}{suffix}").unlink(missing_ok=True)
            os.sync()
            time.sleep(1)


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
    like = args.workdir / "like-for-like.yaml"
    like.write_text("formats: [rss, atom]\narchives: false\n")

    for size in (int(s) for s in args.sizes.split(",")):
        content = synth.make_folder(args.workdir / f"content-{size}", size)
        row: dict[str, object] = {}
        row["floor"] = repeat(
            args.repeat, lambda: timed([sys.executable, "-c", FLOOR, str(content)])
        )

        def generate(out: Path, *extra: str) -> list[str]:
            return [
                exe,
                "generate",
                "-q",
                *extra,
                "--content",
                str(content),
                "--output",
                str(out),
                "--cache",
                f"{out}.sqlite3",
            ]

        if hugo:
            site = args.workdir / f"hugo-{size}"
            hugo_site(content, site)
            public = Fresh(args.workdir, f"hugo-public-{size}")
            row["hugo"] = repeat(
                args.repeat,
                lambda: timed([hugo, "--quiet", "-s", str(site), "-d", str(public.next())]),
            )
            row["hugo_files"] = sum(1 for p in public.current.rglob("*") if p.is_file())
            public.drop()
        out = Fresh(args.workdir, f"like-{size}")
        row["like-for-like"] = repeat(
            args.repeat, lambda: timed(generate(out.next(), "--config", str(like)))
        )
        out.drop()
        out = Fresh(args.workdir, f"cold-{size}")
        row["cold"] = repeat(args.repeat, lambda: timed(generate(out.next())))
        last = out.current
        assert last is not None
        row["files"] = sum(1 for p in last.rglob("*") if p.is_file())
        row["cache_bytes_per_article"] = Path(f"{last}.sqlite3").stat().st_size / size
        row["no-op"] = repeat(args.repeat, lambda: timed(generate(last)))
        victim = sorted(content.rglob("*.md"))[0]
        counter = iter(range(10**9))

        def edit() -> None:
            daemon_bench.save_atomically(
                victim,
                daemon_bench.retitle(victim, f"Edited {next(counter)} {daemon_bench.RUN_ID}"),
            )

        row["one edit"] = repeat(args.repeat, lambda: timed(generate(last)), prepare=edit)
        out.drop()
        if not args.no_daemon:
            lat = daemon_bench.latency(args.workdir, size, args.edits)
            row["daemon"] = {
                "p50_ms": lat["p50_ms"],
                "p99_ms": lat["p99_ms"],
                "peak_rss_mb": lat["peak_rss_mb"],
            }
        results[str(size)] = row
        print_table(size, row, hugo is not None)

    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten {args.json}")


SCENARIOS = ("floor", "hugo", "like-for-like", "cold", "no-op", "one edit")


def print_table(size: int, row: dict[str, object], have_hugo: bool) -> None:
    floor = row["floor"]["median_s"]  # type: ignore[index]
    print(f"\n{size:,} articles")
    print(f"  {'scenario':<14} {'best':>8} {'median':>8} {'vs floor':>9} {'peak RSS':>9}")
    for name in SCENARIOS:
        if name not in row:
            if name == "hugo" and not have_hugo:
                print("  hugo           (not installed: apt-get install hugo)")
            continue
        r = row[name]
        print(
            f"  {name:<14} {r['best_s']:>7.2f}s {r['median_s']:>7.2f}s"  # type: ignore[index]
            f" {r['median_s'] / floor:>8.2f}x {r['peak_rss_mb']:>7.0f}MB"  # type: ignore[index]
        )
    if "daemon" in row:
        d = row["daemon"]
        print(
            f"  {'daemon':<14} edit -> feed p50 {d['p50_ms']:.0f} ms,"  # type: ignore[index]
            f" p99 {d['p99_ms']:.0f} ms, peak RSS {d['peak_rss_mb']:.0f} MB"  # type: ignore[index]
        )
    print(
        f"  files written: {row['files']:,} (defaults)"
        + (f", Hugo {row['hugo_files']:,}" if "hugo_files" in row else "")
        + f"; cache {row['cache_bytes_per_article'] / 1000:.1f} kB per article"  # type: ignore[operator]
    )
    print_targets(size, row)
    sys.stdout.flush()


# Issue 15's targets: ratios to the floor and to Hugo, milliseconds, megabytes, bytes.
RSS_MB = {10_000: 200, 100_000: 400}


def print_targets(size: int, row: dict[str, object]) -> None:
    """Each target of the issue with the measured figure and whether it holds."""
    floor = row["floor"]["median_s"]  # type: ignore[index]

    def ratio(name: str, to: float = floor) -> float:
        return row[name]["median_s"] / to  # type: ignore[index, no-any-return]

    checks = []
    if "hugo" in row:
        hugo = row["hugo"]["median_s"]  # type: ignore[index]
        r = ratio("like-for-like", hugo)
        checks.append(("like-for-like / hugo", f"{r:.2f}x", "<= 1.0x", r <= 1.0))
    for name, limit in (("like-for-like", 1.3), ("cold", 2.0), ("no-op", 0.15), ("one edit", 0.2)):
        r = ratio(name)
        checks.append((f"{name} / floor", f"{r:.2f}x", f"<= {limit}x", r <= limit))
    if "daemon" in row:
        d = row["daemon"]
        p50, p99 = d["p50_ms"], d["p99_ms"]  # type: ignore[index]
        checks.append(("daemon p50", f"{p50:.0f} ms", "< 250 ms", p50 < 250))
        checks.append(("daemon p99", f"{p99:.0f} ms", "< 1000 ms", p99 < 1000))
    peak = max(
        r["peak_rss_mb"]  # type: ignore[index]
        for k, r in row.items()
        if k in ("like-for-like", "cold", "no-op", "one edit", "daemon")
    )
    limit = RSS_MB.get(size)
    if limit is not None:
        checks.append(("peak RSS", f"{peak:.0f} MB", f"<= {limit} MB", peak <= limit))
    per = row["cache_bytes_per_article"] / 1000  # type: ignore[operator]
    checks.append(("cache / article", f"{per:.1f} kB", "<= 2.0 kB", per <= 2.0))
    print(f"  targets at {size:,}:")
    for what, got, want, ok in checks:
        print(f"    {what:<22} {got:>9}  {want:<10} {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
