"""What the store keeps, as named rows, and how each is packed into a column.

Articles, problems and listings are marshalled builtins (several times faster to load than
pickle), packed and unpacked field by field from the dataclasses' own field lists: a new
plain field on `Article` or `Listing` needs no change here, only a new cache schema number.
"""

from __future__ import annotations

import dataclasses
import hashlib
import marshal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from feedsync import membership, select
from feedsync.membership import Ref
from feedsync.model import Article, Image, Listing, Problem, Provider, Severity
from feedsync.scan import Stamp


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _image_out(i: Image) -> tuple[str, int | None, int | None]:
    return (i.url, i.width, i.height)


def _provider_out(p: Provider | None) -> tuple[Any, ...] | None:
    if p is None:
        return None
    return (p.name, p.domain, _image_out(p.logo) if p.logo is not None else None)


def _provider_in(value: tuple[Any, ...] | None) -> Provider | None:
    if value is None:
        return None
    name, domain, logo = value
    return Provider(name, domain, Image(*logo) if logo is not None else None)


def _images_out(images: tuple[Image, ...]) -> tuple[tuple[str, int | None, int | None], ...]:
    return tuple(_image_out(i) for i in images)


def _images_in(values: tuple[tuple[str, int | None, int | None], ...]) -> tuple[Image, ...]:
    return tuple(Image(*i) for i in values)


# Fields that are not builtins marshal can keep: (pack, unpack). Every other field as it is.
_CODECS: dict[type, dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]]] = {
    Article: {
        "published_at": (_time, _when),
        "updated_at": (_time, _when),
        "provider": (_provider_out, _provider_in),
        "images": (_images_out, _images_in),
    },
    Listing: {"newest": (_time, _when), "updated": (_time, _when)},
}


def _packer(cls: type, skip: tuple[str, ...] = ()) -> tuple[tuple[str, ...], list[Any], list[Any]]:
    names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in skip)
    codecs = _CODECS[cls]
    return (
        names,
        [codecs[n][0] if n in codecs else None for n in names],
        [codecs[n][1] if n in codecs else None for n in names],
    )


_ARTICLE = _packer(Article)
_LISTING = _packer(Listing, skip=("kind", "key", "path"))  # those are the row's own columns


def _pack(packer: tuple[tuple[str, ...], list[Any], list[Any]], obj: object) -> bytes:
    names, outs, _ = packer
    return marshal.dumps(
        tuple(
            out(getattr(obj, n)) if out else getattr(obj, n)
            for n, out in zip(names, outs, strict=True)
        ),
        4,
    )


def _unpack(packer: tuple[tuple[str, ...], list[Any], list[Any]], blob: bytes) -> list[Any]:
    _, _, ins = packer
    return [inn(v) if inn else v for inn, v in zip(ins, marshal.loads(blob), strict=True)]


def encode_article(article: Article) -> bytes:
    return _pack(_ARTICLE, article)


def decode_article(blob: bytes) -> Article:
    return Article(*_unpack(_ARTICLE, blob))


def encode_listing(listing: Listing) -> bytes:
    return _pack(_LISTING, listing)


def decode_listing(ref: Ref, path: str, blob: bytes) -> Listing:
    values = dict(zip(_LISTING[0], _unpack(_LISTING, blob), strict=True))
    return Listing(kind=ref[0], key=ref[1], path=path, **values)


def encode_problems(problems: tuple[Problem, ...]) -> bytes | None:
    if not problems:
        return None
    return marshal.dumps(
        tuple((str(p.path), p.line, p.reason, p.severity.value) for p in problems), 4
    )


def decode_problems(blob: bytes | None) -> tuple[Problem, ...]:
    if blob is None:
        return ()
    return tuple(
        Problem(Path(path), line, reason, Severity(sev))
        for path, line, reason, sev in marshal.loads(blob)
    )


class Row(NamedTuple):
    """What the store keeps for one article; made where the file is read (maybe a worker)."""

    id: str
    blob: bytes  # the article, packed
    digest: bytes  # of `blob`: equal digests render equal entries
    published: bool
    rank: float  # select.rank of its publication time
    domain: str | None
    topics: bytes  # marshalled topic keys
    refs: tuple[tuple[str, str], ...]  # (feed as text, spelling) for every feed it is in
    rendered: bytes | None = None  # marshalled {format: entry bytes}, when pre-rendered


def row_of(article: Article, rendered: dict[str, bytes] | None = None) -> Row:
    blob = encode_article(article)
    return Row(
        id=article.id,
        blob=blob,
        digest=hashlib.blake2b(blob, digest_size=16).digest(),
        published=article.published,
        rank=select.rank(article.published_at),
        domain=article.provider.domain if article.provider else None,
        topics=marshal.dumps(membership.topic_keys(article), 4),
        refs=tuple(
            (membership.ref_text(ref), spelling) for ref, spelling in membership.feeds_of(article)
        ),
        rendered=marshal.dumps(rendered, 4) if rendered else None,
    )


class Known(NamedTuple):
    """A file as the store last saw it: the stamp it was read at, and whether it had errors."""

    stamp: Stamp | None
    error: bool


class Written(NamedTuple):
    """A feed as last written: its path, what it showed (None: not yet) and its listing."""

    path: str
    fingerprint: bytes | None
    listing: bytes | None
