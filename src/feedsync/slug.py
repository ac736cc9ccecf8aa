"""Names -> grouping keys and file-system-safe, collision-free file names."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

_SPACE = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^\w]+")
_MAX_BYTES = 96  # well under the 255-byte name limit, with room for a suffix and extension
_RESERVED = {  # names Windows refuses whatever the extension
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}
_SYMBOLS = {"+": " plus ", "#": " sharp ", "&": " and ", "@": " at "}


def display(name: str) -> str:
    """The name as shown: NFC, whitespace collapsed, trimmed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", name)).strip()


def key(name: str) -> str:
    """The grouping key: `Machine Learning` and `machine  LEARNING` are one topic.

    Unicode's canonical caseless match (NFD, casefold, then NFC), so that for example Greek
    letters with iota subscript fold the same in every spelling.
    """
    decomposed = unicodedata.normalize("NFD", _SPACE.sub(" ", name).strip())
    return unicodedata.normalize("NFC", decomposed.casefold())


def base_slug(name: str) -> str:
    """A readable file name stem: letters and digits (any script) joined by '-'."""
    text = key(name)
    for symbol, word in _SYMBOLS.items():
        text = text.replace(symbol, word)
    slug = _NOT_WORD.sub("-", text).replace("_", "-")
    slug = re.sub(r"-{2,}", "-", slug).strip("-")
    encoded = slug.encode("utf-8")[:_MAX_BYTES]
    slug = encoded.decode("utf-8", errors="ignore").strip("-")
    return slug or "untitled"


def assign(keys: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Give each distinct key a unique slug; report every key that had to be disambiguated.

    Keys sharing a stem are sorted; the first keeps the plain stem, the others get a suffix
    from a hash of their own key, so a name's file never depends on which other names exist
    except for the one it collides with.
    """
    by_stem: dict[str, list[str]] = {}
    for k in sorted(set(keys)):
        by_stem.setdefault(base_slug(k), []).append(k)
    slugs: dict[str, str] = {}
    for stem, group in by_stem.items():  # plain stems first: they never move
        if stem not in _RESERVED:
            slugs[group[0]] = stem
    used = set(slugs.values())
    notes: list[str] = []
    for stem, group in sorted(by_stem.items()):
        for k in group:
            if k in slugs:
                continue
            digest = hashlib.sha256(k.encode("utf-8")).hexdigest()
            # Lengthen the suffix until it is free: a name may itself look like `a-5ab640fa`.
            slug = next(c for n in (8, 16, 64) if (c := f"{stem}-{digest[:n]}") not in used)
            slugs[k] = slug
            used.add(slug)
            why = (
                f"'{stem}' is a reserved file name"
                if stem in _RESERVED
                else f"'{group[0]}' already uses '{stem}'"
            )
            notes.append(f"'{k}' is written as '{slug}' because {why}")
    return slugs, notes
