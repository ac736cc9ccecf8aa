"""Settings -> which feeds exist and what they are called. Pure: no SQLite, no I/O.

The operator chooses which topic and provider feeds are written (`include`, `exclude`,
`min_articles`), what a feed is called (`titles`), and feeds of their own that combine topics
and providers (`custom_feeds`). Names are matched as feeds group them (`slug.key`: spaces
collapsed, NFC, case-folded). These settings are not part of the cache's fingerprint: changing
them re-plans every feed and rewrites only those whose existence or title changed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from feedsync import slug
from feedsync.model import FeedKind

Ref = tuple[FeedKind, str]
RULE_KEYS = ("include", "exclude", "min_articles", "titles")
TITLE_KEYS = ("title", "description", "icon")
CUSTOM_KEYS = ("title", "description", "icon", "topics", "providers")
CUSTOM_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
SETTINGS = {"topic_feeds": FeedKind.TOPIC, "provider_feeds": FeedKind.PROVIDER}


@dataclass(frozen=True, slots=True)
class Titling:
    """What the operator calls a feed; None keeps what feedsync would say."""

    title: str | None = None
    description: str | None = None
    icon: str | None = None


@dataclass(frozen=True, slots=True)
class Rules:
    """Which feeds of one kind exist (`topic_feeds`, `provider_feeds`); names as written."""

    include: tuple[str, ...] = ()  # empty: every name
    exclude: tuple[str, ...] = ()
    min_articles: int = 1
    titles: tuple[tuple[str, Titling], ...] = ()

    @property
    def keys(self) -> tuple[frozenset[str], frozenset[str], dict[str, Titling]]:
        return (
            frozenset(slug.key(n) for n in self.include),
            frozenset(slug.key(n) for n in self.exclude),
            {slug.key(n): t for n, t in self.titles},
        )


@dataclass(frozen=True, slots=True)
class Custom:
    """A feed of the operator's own: the union of some topics' and providers' articles."""

    slug: str
    titling: Titling
    topics: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()

    @property
    def parts(self) -> tuple[Ref, ...]:
        """The feeds whose articles it holds."""
        return (
            *((FeedKind.TOPIC, slug.key(t)) for t in self.topics),
            *((FeedKind.PROVIDER, slug.key(p)) for p in self.providers),
        )


@dataclass(frozen=True, slots=True)
class FeedSet:
    """All of the settings, as the pipeline reads them."""

    topics: Rules = field(default_factory=Rules)
    providers: Rules = field(default_factory=Rules)
    custom: tuple[Custom, ...] = ()

    def rules(self, kind: FeedKind) -> Rules:
        return self.topics if kind is FeedKind.TOPIC else self.providers

    @property
    def digest(self) -> str:
        """Changes exactly when these settings do: the run that sees a new one re-plans all."""
        return hashlib.sha256(repr(self).encode("utf-8", "surrogatepass")).hexdigest()

    def qualifies(self, ref: Ref, published: int) -> bool:
        """Is this topic or provider feed written, with `published` articles out at `now`?"""
        kind, key = ref
        if kind not in (FeedKind.TOPIC, FeedKind.PROVIDER):
            return published > 0 or kind is FeedKind.ALL
        rules = self.rules(kind)
        include, exclude, _ = rules.keys
        if key in exclude or (include and key not in include):
            return False
        return published >= max(rules.min_articles, 1)

    def titling(self, ref: Ref) -> Titling | None:
        kind, key = ref
        if kind is FeedKind.CUSTOM:
            return next((c.titling for c in self.custom if c.slug == key), None)
        if kind in (FeedKind.TOPIC, FeedKind.PROVIDER):
            return self.rules(kind).keys[2].get(key)
        return None

    def parts(self, ref: Ref) -> tuple[Ref, ...]:
        """The stored feeds whose members make this feed's (a custom feed's; else itself)."""
        if ref[0] is FeedKind.CUSTOM:
            return next((c.parts for c in self.custom if c.slug == ref[1]), ())
        return (ref,)

    def customs_of(self, refs: Iterable[Ref]) -> set[Ref]:
        """The custom feeds holding any of these feeds' articles."""
        wanted = set(refs)
        return {(FeedKind.CUSTOM, c.slug) for c in self.custom if wanted & set(c.parts)}

    def unknown(self, known: Mapping[FeedKind, set[str]]) -> list[str]:
        """Warnings for names that match no topic or provider in the content (typos)."""
        found = []
        for setting, kind in SETTINGS.items():
            rules = self.rules(kind)
            for part, names in (
                ("include", rules.include),
                ("exclude", rules.exclude),
                ("titles", tuple(n for n, _ in rules.titles)),
            ):
                found += [
                    f"{setting}.{part}: {name!r} matches no {kind.value} in the content"
                    for name in names
                    if slug.key(name) not in known.get(kind, set())
                ]
        for c in self.custom:
            for kind, names in ((FeedKind.TOPIC, c.topics), (FeedKind.PROVIDER, c.providers)):
                found += [
                    f"custom_feeds.{c.slug}: {name!r} matches no {kind.value} in the content"
                    for name in names
                    if slug.key(name) not in known.get(kind, set())
                ]
        return found


# -- reading the settings ------------------------------------------------------------------


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _names(where: str, value: Any, errors: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(_text(v) for v in value):
        errors.append(f"{where}: expected a list of names, got {value!r}")
        return ()
    return tuple(value)


def _titling(where: str, value: Any, errors: list[str], keys: tuple[str, ...]) -> Titling:
    if not isinstance(value, dict):
        errors.append(f"{where}: expected a mapping with {', '.join(keys)}, got {value!r}")
        return Titling()
    for key in sorted(set(value) - set(keys), key=str):
        errors.append(f"{where}.{key}: unknown setting (known: {', '.join(keys)})")
    found: dict[str, str] = {}
    for key in TITLE_KEYS:
        item = value.get(key)
        if item is None:
            continue
        if not _text(item):
            errors.append(f"{where}.{key}: expected a non-empty text, got {item!r}")
        elif key == "icon" and not re.match(r"https?://[^/\s]+", item):
            errors.append(f"{where}.icon: expected an absolute http(s) URL, got {item!r}")
        else:
            found[key] = item.strip()
    return Titling(**found)


def rules(setting: str, value: Any, errors: list[str]) -> Rules:
    """`topic_feeds` / `provider_feeds`, every bad key and value reported in `errors`."""
    if value is None:
        return Rules()
    if not isinstance(value, dict):
        errors.append(f"{setting}: expected a mapping with {', '.join(RULE_KEYS)}, got {value!r}")
        return Rules()
    for key in sorted(set(value) - set(RULE_KEYS), key=str):
        errors.append(f"{setting}.{key}: unknown setting (known: {', '.join(RULE_KEYS)})")
    least = value.get("min_articles", 1)
    if not isinstance(least, int) or isinstance(least, bool) or least < 1:
        errors.append(
            f"{setting}.min_articles: expected a whole number of 1 or more, got {least!r}"
        )
        least = 1
    titles = value.get("titles") or {}
    named: list[tuple[str, Titling]] = []
    if not isinstance(titles, dict):
        errors.append(f"{setting}.titles: expected a mapping of name -> title, got {titles!r}")
    else:
        for name, spec in titles.items():
            if not _text(name):
                errors.append(f"{setting}.titles: {name!r} is not a name")
                continue
            if isinstance(spec, str) and spec.strip():
                spec = {"title": spec}  # `AI: Artificial intelligence` is the title alone
            named.append((name, _titling(f"{setting}.titles.{name}", spec, errors, TITLE_KEYS)))
    return Rules(
        _names(f"{setting}.include", value.get("include"), errors),
        _names(f"{setting}.exclude", value.get("exclude"), errors),
        least,
        tuple(sorted(named, key=lambda item: slug.key(item[0]))),
    )


def customs(value: Any, errors: list[str]) -> tuple[Custom, ...]:
    """`custom_feeds`: slug -> {title, topics, providers (, description, icon)}."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        errors.append(f"custom_feeds: expected a mapping of slug -> feed, got {value!r}")
        return ()
    found = []
    for name, spec in value.items():
        where = f"custom_feeds.{name}"
        if not isinstance(name, str) or not CUSTOM_SLUG.fullmatch(name):
            errors.append(
                f"custom_feeds: {name!r} is not a slug (lower-case letters, digits and '-',"
                " like ai-and-robotics)"
            )
            continue
        titling = _titling(where, spec, errors, CUSTOM_KEYS)
        if not isinstance(spec, dict):
            continue
        if titling.title is None:
            errors.append(f"{where}.title: a custom feed needs a title")
        topics = _names(f"{where}.topics", spec.get("topics"), errors)
        providers = _names(f"{where}.providers", spec.get("providers"), errors)
        if not topics and not providers:
            errors.append(f"{where}: name at least one topic or provider")
        found.append(Custom(name, titling, topics, providers))
    return tuple(sorted(found, key=lambda c: c.slug))
