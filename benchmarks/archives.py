"""Archived feeds at scale: how many archive documents, how big, and what one edit costs with
archives on against off (issue target: within 1.5x).

    .venv/bin/python benchmarks/archives.py                     # 100,000 articles, 30 edits
    .venv/bin/python benchmarks/archives.py --size 10000 --edits 50

Each edit is the daemon's work for one saved file (`generate.run` with the changed path, on
the state of a full run): the article gets a new title and the newest date, so it leaves one
month's archive documents and joins another's in every feed it is in.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import daemon as daemon_bench  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "feedsync-bench"
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = {}
    for archives in (False, True):
        results[archives] = r = daemon_bench.edit_cost(
            args.workdir, args.size, args.edits, archives=archives
        )
        print(
            f"archives {'on ' if archives else 'off'}: cold {r['cold_s']:.1f} s,"
            f" one edit p50 {r['p50_ms']:.0f} ms p99 {r['p99_ms']:.0f} ms,"
            f" {r['archive_files']:,} archive files, {r['archive_mb']:.0f} MB",
            flush=True,
        )
    ratio = results[True]["p50_ms"] / results[False]["p50_ms"]
    print(f"one edit, archives on / off: {ratio:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
