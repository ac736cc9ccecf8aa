"""Synthetic content folders in the seed format, reproducible from a seed.

Realistic shape: ~100 topics, ~1,000 providers, 1-3 topics per article, 80 % published, a few
future-dated, non-ASCII text and images. Used by the benchmarks; never by the test suite.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

WORDS = (
    "data model cloud robot climate energy open source policy market chip vision "
    "speech privacy ethics health city bank labour school music game space ocean "
    "Künstliche Intelligenz café naïve résumé 人工智能 données über"
).split()
EPOCH = datetime(2021, 1, 1, tzinfo=timezone.utc)


def article(rng: random.Random, i: int, *, now: datetime, title: str | None = None) -> str:
    topics = rng.sample(range(100), rng.randint(1, 3))
    provider = rng.randrange(1000)
    when = EPOCH + timedelta(minutes=rng.randrange(60 * 24 * 365 * 5))
    if rng.random() < 0.005:
        when = now + timedelta(days=rng.randint(1, 300))
    published = "true" if rng.random() < 0.8 else "false"
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12)))
    title = title or f"{words.capitalize()} #{i}"
    excerpt = " ".join(rng.choice(WORDS) for _ in range(40))
    url = f"https://p{provider}.example.com/{when:%Y/%m/%d}/story-{i}"
    lines = [
        "---",
        "category: news",
        f'title: "{title}"',
        f'excerpt: "{excerpt}"',
        f"publishedDateTime: {when:%Y-%m-%dT%H:%M:%SZ}",
        f'originalUrl: "{url}"',
        f'webUrl: "{url}"',
        "type: article",
        f"quality: {rng.randint(0, 100)}",
        f"heat: {rng.randint(0, 100)}",
        f"published: {published}",
        "",
        "provider:",
        f"  name: Provider {provider} Nachrichten",
        f"  domain: p{provider}.example.com",
        "",
        "topics:",
        *(f"  - Topic {t} {WORDS[t % len(WORDS)]}" for t in topics),
        "",
        "images:",
        f'  - url: "https://p{provider}.example.com/img/{i}.jpg"',
        "    width: 1024",
        "    height: 683",
        "    isCached: true",
        "",
        f'secured: "{rng.getrandbits(256):064x}"',
        "---",
        "",
    ]
    return "\n".join(lines)


def make_folder(root: Path, count: int, seed: int = 42, now: datetime | None = None) -> Path:
    """Write `count` articles into root/ (in 100 sub-folders), skipping it if already complete."""
    now = now or datetime.now(timezone.utc)
    marker = root / f".complete-{count}-{seed}"
    if marker.exists():
        return root
    rng = random.Random(seed)
    for i in range(count):
        folder = root / f"{i % 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"article-{i:06d}.md").write_text(article(rng, i, now=now), encoding="utf-8")
    marker.write_text("")
    return root
