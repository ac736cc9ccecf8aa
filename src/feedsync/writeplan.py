"""A run's files on their way to the output folder: what is written, what is removed.

Rendered feeds are staged in batches as they come (written to temp files beside their
targets), so output bytes never pile up in memory; at the end of the run all of them are made
durable at once and renamed into place (`writer.Staging`), the listings (index.html,
feeds.opml) after the feeds and the removals last, so a listing never links to a feed that is
not there yet and a run that fails part way changes nothing. What is removed depends on
what the run knows:
- a fresh index (first run, cache lost) knows nothing of the folder: `sync` lists it and
  removes every file of ours that no feed wants and every temp file a killed run left;
- a full walk has the listing of the managed folders (`outputs.on_disk`): the same clean-up
  from it, without listing again;
- an incremental run removes only the files of feeds that went or moved.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from pathlib import Path

from feedsync import writer
from feedsync.errors import OutputError
from feedsync.outputs import LISTINGS, MANAGED_FOLDERS, archive_folders, ours
from feedsync.scan import Stamp

WRITE_BATCH = 300  # rendered files held before they are staged


class Output:
    """The files one run writes into `out_dir`."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.files: dict[str, bytes] = {}  # rendered, not written yet
        self.produced: set[str] = set()  # staged (or found the same) in an earlier batch
        self._batches: list[writer.Outcome] = []
        self._staging = writer.Staging(out_dir)

    def add(self, name: str, data: bytes) -> None:
        self.files[name] = data

    def batch_done(self) -> None:
        """One feed's files are in: write them all once enough are waiting."""
        if len(self.files) >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        """Stage what is rendered so far; it is published with the rest at the end."""
        try:
            written, unchanged = self._staging.add(self.files)
        except OutputError:
            self._staging.discard()
            raise
        except OSError as exc:
            self._staging.discard()
            raise writer.error(self.out_dir, exc) from exc
        self._batches.append(writer.Outcome(tuple(written), tuple(unchanged), ()))
        self.produced.update(self.files)
        self.files.clear()

    def present(self) -> set[str]:
        """The files of this run a reader finds as rendered: those already the same, and the
        others only once the run's end published them (a failure before discards them)."""
        if self._staging.landed:
            return self.produced | set(self.files)
        return {name for batch in self._batches for name in batch.unchanged}

    def has(self, name: str) -> bool:
        return name in self.files or name in self.produced

    def finish_fresh(self, desired: set[str]) -> writer.Outcome:
        """Write the rest; remove whatever in the managed folders (the archive's too) is ours
        and neither desired nor written by this run."""
        last = writer.sync(
            self.out_dir,
            self.files,
            (*MANAGED_FOLDERS, *archive_folders(self.out_dir)),
            ours,
            keep=desired | self.produced,
            last=LISTINGS,
            staging=self._staging,
        )
        return self._total(last, last.removed)

    def finish_full(
        self, desired: set[str], on_disk: Mapping[str, Stamp], deletes: Set[str] = frozenset()
    ) -> writer.Outcome:
        """As `finish_fresh`, from the listing of the folder the run already has (which does
        not reach into the archive: its documents that went are `deletes`)."""
        wanted = desired | set(self.files) | self.produced
        temps = {n for n in on_disk if writer.leftover(n, ours) == "temp"}
        stale = {n for n in on_disk if n not in wanted and writer.leftover(n, ours) == "ours"}
        gone = {n for n in deletes if not self.has(n)}
        last = writer.apply(
            self.out_dir, self.files, temps | stale | gone, last=LISTINGS, staging=self._staging
        )
        return self._total(last, tuple(n for n in last.removed if n not in temps))

    def finish(self, deletes: set[str]) -> writer.Outcome:
        """Write the rest and remove `deletes` (files of feeds that went or moved)."""
        removals = {n for n in deletes if not self.has(n)}
        last = writer.apply(
            self.out_dir, self.files, removals, last=LISTINGS, staging=self._staging
        )
        return self._total(last, last.removed)

    def _total(self, last: writer.Outcome, removed: tuple[str, ...]) -> writer.Outcome:
        batches = (*self._batches, last)
        return writer.Outcome(
            tuple(n for b in batches for n in b.written),
            tuple(n for b in batches for n in b.unchanged),
            removed,
        )
