"""Byte-for-byte comparison of feedsync's output across code versions (a refactor's proof).

    # on the old code: record what it writes
    .venv/bin/python benchmarks/identical.py --record /tmp/before.json
    # on the new code: compare, exit 1 on any difference
    .venv/bin/python benchmarks/identical.py --against /tmp/before.json

Scenarios, each a whole `feedsync generate` process with a fixed --now, on a synthetic folder
of --articles articles (10,000 by default, from a fixed seed) and on ../shared/corpus when it
is there (real files, with every oddity the site's history has):
- cold:      an empty output folder, the cache file (all formats);
- edited:    then 1 % of files retitled, 0.5 % unpublished, 0.5 % deleted, a topic respelled,
             run again on the same cache (the incremental path);
- private:   cold again with --no-cache, a WebSub hub and another base URL (the private
             index and the hub links);
- corpus:    ../shared/corpus, cold.
Prints one line per scenario (files, bytes, SHA-256 of the whole tree) and every difference.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import synth  # noqa: E402

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"  # ../shared/corpus


def tree(out: Path) -> dict[str, str]:
    """Every file of an output folder -> SHA-256 of its bytes."""
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def generate(exe: str, content: Path, out: Path, *extra: str) -> None:
    command = [exe, "generate", "-q", "--content", str(content), "--output", str(out)]
    done = subprocess.run([*command, "--now", NOW.isoformat(), *extra], capture_output=True)
    if done.returncode not in (0, 1):  # 1: some files in error, which the corpus has
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr.decode()}")


def edit(content: Path, seed: int = 7) -> None:
    """Retitle, unpublish, delete and respell a reproducible sample of files."""
    rng = random.Random(seed)
    files = sorted(content.rglob("*.md"))
    picked = rng.sample(files, max(4, len(files) // 50))
    quarter = len(picked) // 4
    for i, path in enumerate(picked):
        text = path.read_text(encoding="utf-8")
        if i < 2 * quarter:
            text = text.replace('title: "', 'title: "Edited: ', 1)
        elif i < 3 * quarter:
            text = text.replace("published: true", "published: false", 1)
        else:
            path.unlink()
            continue
        path.write_text(text, encoding="utf-8")
    first = files[0]
    if first.exists():
        text = first.read_text(encoding="utf-8")
        first.write_text(text.replace("  - Topic", "  - TOPIC", 1), encoding="utf-8")


def scenarios(exe: str, workdir: Path, articles: int, corpus: Path) -> dict[str, dict[str, str]]:
    shutil.rmtree(workdir, ignore_errors=True)
    content = workdir / "content"
    shutil.copytree(synth.make_folder(workdir / "pristine", articles, now=NOW), content)
    cache = workdir / "cache.sqlite3"
    found: dict[str, dict[str, str]] = {}
    generate(exe, content, workdir / "out", "--cache", str(cache))
    found["cold"] = tree(workdir / "out")
    edit(content)
    generate(exe, content, workdir / "out", "--cache", str(cache))
    found["edited"] = tree(workdir / "out")
    site = workdir / "site.yaml"
    site.write_text(
        "base_url: https://feeds.example.org/sub/\nwebsub_hub: https://hub.example.org/\n"
        "site_title: Ünïcode & <Co>\n"
    )
    generate(exe, content, workdir / "private", "--no-cache", "--config", str(site))
    found["private"] = tree(workdir / "private")
    if corpus.is_dir():
        generate(exe, corpus, workdir / "corpus", "--no-cache")
        found["corpus"] = tree(workdir / "corpus")
    return found


def digest(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--record", type=Path, help="write the figures to this JSON file")
    what.add_argument("--against", type=Path, help="compare with a recorded JSON file")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="real files (if there)")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "feedsync-identical"
    )
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("feedsync"))
    found = scenarios(exe, args.workdir, args.articles, args.corpus)
    for name, files in found.items():
        print(f"{name:8} {len(files):6} files  sha256 {digest(files)}")
    if args.record:
        args.record.write_text(json.dumps({"articles": args.articles, "trees": found}, indent=1))
        print(f"recorded in {args.record}")
        return
    before = json.loads(args.against.read_text())
    if before["articles"] != args.articles:
        raise SystemExit(f"recorded with --articles {before['articles']}: use the same")
    differences = 0
    for name in sorted(set(before["trees"]) | set(found)):
        old, new = before["trees"].get(name, {}), found.get(name, {})
        for path in sorted(set(old) | set(new)):
            if old.get(path) != new.get(path):
                differences += 1
                if differences <= 20:
                    state = "gone" if path not in new else "new" if path not in old else "changed"
                    print(f"  {name}: {path} {state}")
    if differences:
        raise SystemExit(f"{differences} files differ")
    print(f"identical: {sum(len(t) for t in found.values())} files in {len(found)} scenarios")


if __name__ == "__main__":
    main()
