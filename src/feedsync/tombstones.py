"""Articles leaving feeds -> tombstones (RFC 6721). Pure: no SQLite, no I/O.

When an article a feed showed leaves it (unpublished, deleted, moved to the future, its topic
or provider changed, its id changed), the feed's Atom document says so with
`<at:deleted-entry ref when>` for `tombstone_days`, so readers that have the entry can drop it.
`when` is the time of the run that first saw it go, kept in the index: later runs repeat the
same bytes. An article that merely slid out of the newest `max_items` left nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from feedsync import select
from feedsync.membership import Ref

DAY = 86_400.0


def departed(
    left: Iterable[tuple[Ref, str, float, float | None]], before: datetime, now: datetime
) -> list[tuple[Ref, str]]:
    """Of the member rows a run took away or moved (feed, id, old rank, new rank or None),
    those readers could see at the last run (`before`) and cannot see now: each feed once."""
    seen, found = set(), []
    for ref, id_, old, new in left:
        if old >= select.bound(before) and (new is None or new < select.bound(now)):
            if (ref, id_) not in seen:
                seen.add((ref, id_))
                found.append((ref, id_))
    return found


def shown(stones: Iterable[tuple[str, float]], back: set[str]) -> tuple[tuple[str, float], ...]:
    """The tombstones a feed carries: not for articles that came back; newest first, by id."""
    return tuple(sorted(((i, s) for i, s in stones if i not in back), key=lambda t: (-t[1], t[0])))
