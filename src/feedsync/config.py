"""YAML -> frozen Config; every error is collected and reported at once."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

import yaml

from feedsync import feedset
from feedsync.errors import FeedsyncError
from feedsync.formats import FORMATS

DEFAULT_CONFIG_PATH = Path("config/feedsync.yaml")
WATCHERS = ("auto", "native", "polling")
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True, slots=True)
class Config:
    """Every setting with its default; relative paths are taken from the current directory."""

    content_dir: Path = Path("seeds")
    output_dir: Path = Path("output")
    base_url: str = "http://127.0.0.1:8080/"
    site_title: str = "feedsync"
    site_url: str | None = None
    patterns: tuple[str, ...] = ("*.md", "*.markdown", "*.txt")
    max_items: int = 50
    max_file_bytes: int = 1024 * 1024
    max_field_chars: int = 10_000
    formats: tuple[str, ...] = tuple(FORMATS)  # every format in the table, in its order
    debounce_ms: int = 150
    reconcile_seconds: int = 300
    parallel_min_files: int = 2000  # a run reading this many files or more uses worker processes
    watcher: str = "auto"
    poll_seconds: float = 1.0
    status_file: Path | None = None
    websub_hub: str | None = None
    icon: str | None = None  # URL of the site's icon, for feeds without a provider logo
    image_type: str = "image/jpeg"  # an enclosure's type when the image URL does not say
    serve: str | None = None
    cache: bool = True
    cache_file: Path | None = None  # None: under $XDG_CACHE_HOME (or ~/.cache)/feedsync/
    log_format: str = "text"
    archives: bool = True  # RFC 5005 archive documents: every article reachable from its feeds
    tombstone_days: int = 30  # how long a feed announces an article that left it (0: never)
    topic_feeds: feedset.Rules = field(default_factory=feedset.Rules)
    provider_feeds: feedset.Rules = field(default_factory=feedset.Rules)
    custom_feeds: tuple[feedset.Custom, ...] = ()

    @property
    def feeds(self) -> feedset.FeedSet:
        """Which feeds exist and what they are called (feedset)."""
        return feedset.FeedSet(self.topic_feeds, self.provider_feeds, self.custom_feeds)

    @property
    def status_path(self) -> Path:
        """Where the daemon keeps its status: `status_file`, else in the state folder.

        Not in the output folder: when the output cannot be written, the status must still be
        able to say so. One daemon per output folder, so the output folder alone names it.
        """
        if self.status_file is not None:
            return self.status_file
        key = hashlib.blake2b(
            str(self.output_dir.absolute()).encode("utf-8", "surrogateescape"), digest_size=8
        ).hexdigest()
        return state_folder() / f"{key}.status.json"

    @property
    def home_url(self) -> str:
        """The page feeds link to as their website: `site_url`, else the base URL."""
        return self.site_url or self.base_url


def state_folder() -> Path:
    """$XDG_STATE_HOME/feedsync, else ~/.local/state/feedsync: what a daemon leaves for
    `feedsync status` (the systemd unit sets XDG_STATE_HOME=/var/lib)."""
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "feedsync"


def parse_bind(text: str) -> tuple[str, int] | None:
    """'HOST:PORT' (or '[v6]:PORT'; port 0 picks a free one) -> (host, port), or None."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        return None
    return host, int(port)


def _check_url(name: str, value: object, errors: list[str]) -> str | None:
    if not isinstance(value, str):
        errors.append(f"{name}: expected an absolute http(s) URL, got {value!r}")
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.append(
            f"{name}: {value!r} is not an absolute http(s) URL"
            " (feeds need absolute self links; write it like https://example.com/feeds/)"
        )
        return None
    return value if value.endswith("/") else value + "/"


def _check(raw: Mapping[str, Any], errors: list[str]) -> dict[str, Any]:
    """Validate each known key; unknown keys are errors so typos never pass silently."""
    known = {f.name for f in dataclasses.fields(Config)}
    values: dict[str, Any] = {}
    for key in sorted(set(raw) - known):
        errors.append(f"{key}: unknown setting (known: {', '.join(sorted(known))})")
    for key, value in raw.items():
        if key not in known:
            continue
        if key in feedset.SETTINGS:
            values[key] = feedset.rules(key, value, errors)
        elif key == "custom_feeds":
            values[key] = feedset.customs(value, errors)
        elif key in ("status_file", "cache_file") and value is None:
            values[key] = None
        elif key in ("cache", "archives"):
            if isinstance(value, bool):
                values[key] = value
            else:
                errors.append(f"{key}: expected true or false, got {value!r}")
        elif key in ("content_dir", "output_dir", "status_file", "cache_file"):
            if isinstance(value, str) and value.strip():
                values[key] = Path(value)
            else:
                errors.append(f"{key}: expected a folder path, got {value!r}")
        elif key == "image_type":
            if isinstance(value, str) and re.fullmatch(r"image/[\w.+-]+", value):
                values[key] = value
            else:
                errors.append(
                    f"image_type: expected an image media type (image/jpeg), got {value!r}"
                )
        elif key in ("base_url", "site_url", "websub_hub", "icon"):
            if key != "base_url" and value is None:
                values[key] = None
            elif (url := _check_url(key, value, errors)) is not None:
                values[key] = url if key not in ("websub_hub", "icon") else value
        elif key == "serve":
            if value is None:
                values[key] = None
            elif isinstance(value, str) and parse_bind(value) is not None:
                values[key] = value
            else:
                errors.append(f"serve: {value!r} is not HOST:PORT (for example 127.0.0.1:8080)")
        elif key == "site_title":
            if isinstance(value, str) and value.strip():
                values[key] = value.strip()
            else:
                errors.append(f"{key}: expected a non-empty text, got {value!r}")
        elif key in ("patterns", "formats"):
            feeds = [name for name, spec in FORMATS.items() if spec.feed]
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(v, str) and v for v in value)
            ):
                errors.append(f"{key}: expected a non-empty list of texts, got {value!r}")
            elif key == "formats" and (bad := sorted(set(value) - set(FORMATS))):  # live table
                errors.append(f"formats: unknown {bad} (choose from {list(FORMATS)})")
            elif key == "formats" and not any(FORMATS[v].feed for v in value):
                errors.append(f"formats: {value!r} has no feed format (add one of {feeds})")
            else:
                values[key] = tuple(dict.fromkeys(value))
        elif key == "log_format":
            if value in LOG_FORMATS:
                values[key] = value
            else:
                errors.append(f"log_format: {value!r} is not one of {', '.join(LOG_FORMATS)}")
        elif key == "watcher":
            if value in WATCHERS:
                values[key] = value
            else:
                errors.append(f"watcher: {value!r} is not one of {', '.join(WATCHERS)}")
        elif key == "poll_seconds":
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                values[key] = float(value)
            else:
                errors.append(f"{key}: expected a positive number of seconds, got {value!r}")
        elif key == "debounce_ms":
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 60_000:
                values[key] = value
            else:
                errors.append(f"{key}: expected milliseconds between 0 and 60000, got {value!r}")
        elif key == "tombstone_days":
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 36500:
                values[key] = value
            else:
                errors.append(f"{key}: expected a whole number of days (0 for none), got {value!r}")
        elif key in (
            "max_items",
            "max_file_bytes",
            "max_field_chars",
            "reconcile_seconds",
            "parallel_min_files",
        ):
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                values[key] = value
            else:
                errors.append(f"{key}: expected a positive whole number, got {value!r}")
    return values


def load(path: Path | None, overrides: Mapping[str, object] | None = None) -> Config:
    """Read the YAML file at `path` (or the defaults when None), then apply given overrides.

    An override counts only when it is not None, so unset CLI options keep the file's value.
    """
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FeedsyncError(f"{path}: configuration file not found (pass --config PATH)")
        except (OSError, UnicodeDecodeError) as exc:
            raise FeedsyncError(f"{path}: cannot read configuration: {exc}")
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise FeedsyncError(f"{path}: not valid YAML: {exc}".replace("\n", " "))
        if loaded is not None and not isinstance(loaded, dict):
            raise FeedsyncError(
                f"{path}: expected a mapping of settings, got {type(loaded).__name__}"
            )
        raw = dict(loaded or {})
    for key, value in (overrides or {}).items():
        if value is not None:
            raw[key] = str(value) if isinstance(value, Path) else value
    errors: list[str] = []
    values = _check(raw, errors)
    defaults = Config()
    content = Path(values.get("content_dir", defaults.content_dir)).absolute()
    output = Path(values.get("output_dir", defaults.output_dir)).absolute()
    if content == output or content.is_relative_to(output):
        errors.append(
            f"output_dir: {output} holds the content folder; feedsync would write"
            " among the articles. Choose a separate folder"
        )
    cache_file = values.get("cache_file")
    if cache_file is not None:
        where_cache = Path(cache_file).absolute()
        if where_cache.is_relative_to(content) or where_cache.is_relative_to(output):
            errors.append(
                f"cache_file: {where_cache} is inside the content or output folder;"
                " keep the cache elsewhere (the default is under ~/.cache/feedsync)"
            )
    if errors:
        where = f"{path}: " if path is not None else ""
        raise FeedsyncError(f"{where}bad configuration: " + "; ".join(errors))
    return Config(**values)


_TOP_LEVEL = re.compile(r"^([a-z_]+):[ \t]*(.*?)[ \t]*(?:#.*)?$")


def salvage(path: Path | None, overrides: Mapping[str, object] | None = None) -> Config:
    """The settings that can still be read from a configuration `load` refuses.

    `feedsync status --config PATH` must find the running daemon even when PATH was broken
    after the daemon read it: each setting that is valid on its own is kept, the rest take
    their defaults. A file that is not even YAML is read line by line (`key: value`).
    """
    raw: dict[str, Any] = {}
    text = ""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
    try:
        loaded = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        loaded = None
        for line in text.splitlines():
            if (match := _TOP_LEVEL.match(line)) is not None and match[2]:
                try:  # each value as YAML on its own: `null`, numbers, quotes, [lists]
                    value: Any = yaml.safe_load(match[2])
                except yaml.YAMLError:
                    value = match[2]
                raw.setdefault(match[1], value)
    if isinstance(loaded, dict):
        raw = dict(loaded)
    for key, value in (overrides or {}).items():
        if value is not None:
            raw[key] = str(value) if isinstance(value, Path) else value
    values: dict[str, Any] = {}
    for key, value in raw.items():
        values.update(_check({key: value}, []))
    return Config(**values)
