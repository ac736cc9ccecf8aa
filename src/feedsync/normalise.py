"""Front-matter mapping -> Article, or the problems that keep it out; one helper per field.

Documented normalisations. Reported as warnings: mojibake repaired (ftfy; it also reads a C1
byte that stands for a Windows-1252 character as that character, U+0092 -> `’`); characters
XML 1.0 forbids dropped; DEL and the C1 controls (U+0080-U+009F) still left dropped, because
terminals obey them (U+009B is CSI); blank topic and provider names ignored; over-long fields
cut; a time without a zone read as UTC. Silent, because real files are full of them: HTML
entities decoded (before the drop, so `&#x81;` cannot bring a control back), whitespace in
one-line fields collapsed, times converted to UTC, non-ASCII, DEL and C1 in URLs
percent-encoded (C0 controls removed), ids stripped of what text fields drop.
"""

from __future__ import annotations

import functools
import html
import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timezone
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit, urlunsplit

from feedsync import slug
from feedsync.model import Article, Image, Problem, Provider, Severity
from feedsync.reader import FrontMatter

# Fixed namespace so ids are the same on every machine and every run.
ID_NAMESPACE = uuid.UUID("6f1c9a52-3f0e-5b8e-9d7a-4e0c2b1d9f11")
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# XML allows DEL and C1, but no reader should show them and terminals obey them.
_TERMINAL_CONTROLS = re.compile("[\x7f-\x9f]")
# Both of the above in one pass: what author text never keeps.
_DROPPED = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPACE = re.compile(r"\s+")
_ANY_SPACE = re.compile(r"\s")
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_URL_SAFE = "/:?#[]@!$&'()*+,;=%~-._"
MIN_YEAR = 1900  # earliest publication year accepted
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")


class _Field:
    """Collects problems for one file, each pinned to the line of the key it concerns."""

    def __init__(self, fm: FrontMatter, path: Path, max_chars: int) -> None:
        self.fm = fm
        self.path = path
        self.max_chars = max_chars
        self.problems: list[Problem] = []

    def report(self, key: str, reason: str, severity: Severity = Severity.ERROR) -> None:
        self.problems.append(Problem(self.path, self.fm.lines.get(key), reason, severity))

    def warn(self, key: str, reason: str) -> None:
        self.report(key, reason, Severity.WARNING)

    def text(self, key: str, value: object, *, one_line: bool) -> str:
        """Clean author text so it is safe in XML and reads as the author meant it."""
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.warn(key, f"'{key}' should be text, got {type(value).__name__}; ignored")
            return ""
        text = str(value)
        if text.isascii():  # mojibake is never ASCII
            fixed = text
        elif len(text) <= 200:  # names and topics repeat across thousands of articles
            fixed = _fix_short(text)
        else:
            fixed = _fix_encoding(text)
        if fixed != text:
            self.warn(key, f"repaired mis-encoded text (mojibake) in '{key}'")
        # ftfy first, so C1 bytes in mojibake are repaired rather than lost; entities before
        # the drop, so `&#x81;` cannot bring a control character back.
        text = html.unescape(fixed)
        cleaned = _DROPPED.sub("", text)
        if cleaned != text:
            if _XML_FORBIDDEN.search(text):
                self.warn(key, f"removed characters XML does not allow from '{key}'")
            if _TERMINAL_CONTROLS.search(text):
                self.warn(key, f"removed control characters (DEL, U+0080-U+009F) from '{key}'")
        text = cleaned.replace("\r\n", "\n").replace("\r", "\n")
        text = _SPACE.sub(" ", text).strip() if one_line else text.strip()
        if len(text) > self.max_chars:
            self.warn(key, f"'{key}' is longer than {self.max_chars} characters; cut")
            text = text[: self.max_chars].rstrip()
        return text


@functools.lru_cache(maxsize=4096)
def _fix_short(text: str) -> str:
    return _fix_encoding(text)


def _fix_encoding(text: str) -> str:
    import ftfy  # imported on first use: most runs read no file at all

    return ftfy.fix_encoding(text)


def _show(value: object, limit: int = 60) -> str:
    """A short repr for messages: author values can be megabytes long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def to_uri(value: object) -> str | None:
    """An absolute http(s) URL with non-ASCII percent-encoded (RFC 3986), or None."""
    if not isinstance(value, str):
        return None
    value = _XML_FORBIDDEN.sub("", value).strip()
    if _ANY_SPACE.search(value):  # the same characters as str.isspace
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        if parts.scheme.lower() not in ("http", "https") or not host:
            return None
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except (ValueError, UnicodeError):
        return None
    netloc = parts.netloc if host.isascii() else parts.netloc.replace(host, ascii_host)
    if _URI_CHARS.fullmatch(value):  # already RFC 3986: quoting would change nothing
        return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))
    return urlunsplit(
        (
            parts.scheme.lower(),
            quote(netloc, safe=_URL_SAFE),
            quote(parts.path, safe=_URL_SAFE),
            quote(parts.query, safe=_URL_SAFE),
            quote(parts.fragment, safe=_URL_SAFE),
        )
    )


def _parse_time(value: object) -> tuple[datetime | None, str | None]:
    """(UTC time, note) from YAML text, a date, or RFC 2822; (None, reason) when unusable."""
    note = None
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, date):
        when, note = datetime(value.year, value.month, value.day), "a date without a time"
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            try:
                from email.utils import parsedate_to_datetime  # rare: RFC 2822 dates

                when = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError, OverflowError):
                return None, f"'{text[:60]}' is not a date and time (write 2024-05-10T14:00:00Z)"
        if len(text) == 10 and note is None:
            note = "a date without a time"
    else:
        return None, "missing"
    if when.tzinfo is None or when.utcoffset() is None:
        note = note or "a time without a timezone"
        when = when.replace(tzinfo=timezone.utc)
    try:
        when = when.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None, f"'{value}' is out of range"
    if when.year < MIN_YEAR:
        # RSS dates print the year as is: year 99 would read as 1999 in every reader.
        return None, f"'{value}' is before {MIN_YEAR}; check the year"
    return when, (f"{note}; read as UTC" if note else None)


def article_id(raw_id: object, source: str) -> str:
    """The stable id: the `id` field if given, else derived from the file's path.

    Derived ids use the path relative to the content folder without its extension, so edits
    to any field, restarts and changing `.md` to `.markdown` keep the id; moving or renaming
    the file gives a new one unless the front matter carries an `id`.
    """
    if raw_id is not None and not isinstance(raw_id, bool) and str(raw_id).strip():
        text = _DROPPED.sub("", str(raw_id)).strip()
        if _URI_SCHEME.match(text):
            return text
        return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, 'id:' + text)}"
    stem = str(PurePosixPath(source).with_suffix(""))
    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, 'path:' + slug.display(stem))}"


def _provider(f: _Field, value: object) -> Provider | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, Mapping):
        f.warn("provider", "'provider' should have 'name' and 'domain'; ignored")
        return None
    name = f.text("provider", value.get("name"), one_line=True)
    if not name:
        f.warn("provider", "'provider' has no name; the article is in no provider feed")
        return None
    domain = value.get("domain")
    domain = domain.strip().lower() if isinstance(domain, str) else None
    logos = _images(f, value.get("images"), "provider.images")
    return Provider(
        name, domain if domain and _HOST.match(domain) else None, logos[0] if logos else None
    )


def _topics(f: _Field, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        f.warn("topics", "'topics' should be a list of names; ignored")
        return ()
    names: dict[str, str] = {}
    for item in value:
        if not isinstance(item, (str, int, float)) or isinstance(item, bool):
            f.warn("topics", f"topic {_show(item)} is not a name; ignored")
            continue
        name = f.text("topics", item, one_line=True)
        if not name:
            f.warn("topics", f"topic {_show(item)} is blank; ignored")
            continue
        names.setdefault(slug.key(name), name)
    return tuple(names.values())


def _images(f: _Field, value: object, key: str = "images") -> tuple[Image, ...]:
    field = key.split(".")[0]  # the front-matter line a warning points at
    if not isinstance(value, list):
        if value is not None:
            f.warn(field, f"'{key}' should be a list; ignored")
        return ()
    images = []
    for item in value:
        url = to_uri(item.get("url")) if isinstance(item, Mapping) else None
        if url is None:
            f.warn(field, f"an image in '{key}' without a usable http(s) 'url' was ignored")
            continue
        size = [item.get(k) for k in ("width", "height")]
        width, height = (
            v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None for v in size
        )
        images.append(Image(url, width, height))
    return tuple(images)


def normalise(
    fm: FrontMatter, path: Path, source: str, max_chars: int = 10_000
) -> tuple[Article | None, list[Problem]]:
    """Build the Article for one file; errors leave it out, warnings ride along."""
    raw = fm.data
    f = _Field(fm, path, max_chars)

    title = f.text("title", raw.get("title"), one_line=True)
    if not title:
        f.report("title", "no title: add 'title: \"...\"' to the front matter")

    link = None
    for key in ("webUrl", "originalUrl"):
        if raw.get(key) is None:
            continue
        link = to_uri(raw.get(key))
        if link:
            break
        f.warn(key, f"'{key}' is not an absolute http(s) URL")
    if not link:
        f.report("webUrl", "no usable link: add an absolute http(s) 'webUrl' or 'originalUrl'")

    published_at, note = _parse_time(raw.get("publishedDateTime"))
    if published_at is None:
        f.report("publishedDateTime", f"publishedDateTime: {note}")
    elif note:
        f.warn("publishedDateTime", f"publishedDateTime is {note}")

    updated_at = published_at
    for key in ("updatedDateTime", "updated"):
        if raw.get(key) is not None:
            when, why = _parse_time(raw.get(key))
            if when is None:
                f.warn(key, f"{key}: {why}; using publishedDateTime")
            else:
                updated_at = when
            break

    flag = raw.get("published")
    if flag is None and "published" not in raw:
        f.warn("published", "no 'published' field; treated as unpublished")
    elif not isinstance(flag, bool):
        f.warn(
            "published", f"'published' is {_show(flag)}, not true or false; treated as unpublished"
        )

    summary = f.text("excerpt", raw.get("excerpt"), one_line=False)
    provider = _provider(f, raw.get("provider"))
    topics = _topics(f, raw.get("topics"))
    images = _images(f, raw.get("images"))

    if any(p.severity is Severity.ERROR for p in f.problems):
        return None, f.problems
    assert published_at is not None and updated_at is not None and link is not None
    article = Article(
        id=article_id(raw.get("id"), source),
        source=source,
        title=title,
        summary=summary,
        link=link,
        published_at=published_at,
        updated_at=updated_at,
        published=flag is True,
        provider=provider,
        topics=topics,
        images=images,
        video=raw.get("type") == "video",
    )
    return article, f.problems
