"""One writer per output folder: an exclusive `flock` on the output folder itself.

Two daemons (or a daemon and a `generate`) writing one folder would undo each other's work and
each report only its own view. The lock is taken on the folder's own descriptor: it needs no
file in the output (nothing is served), works on a read-only or full file system (the cases
the daemon must keep reporting), does not depend on environment variables (a `generate` typed
by hand finds the lock a systemd service took), and the kernel releases it when the holder
dies, even by SIGKILL. Who holds it is read from /proc/locks, so a pid file that outlived its
process can never be mistaken for a running daemon.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from feedsync.errors import FeedsyncError, OutputError

log = logging.getLogger(__name__)

PROC_LOCKS = Path("/proc/locks")
POLL_SECONDS = 0.1


class Busy(FeedsyncError):
    """Another feedsync holds the output folder (exit 2: nothing was done)."""


class Lock:
    """An exclusive lock on an output folder, held until `release` (or the process ends)."""

    def __init__(self, folder: Path, fd: int) -> None:
        self.folder = folder
        self._fd: int | None = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the last descriptor drops the flock

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _open(folder: Path) -> int:
    """The folder's descriptor, making the folder first; OutputError when it cannot be had."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise OutputError(
            f"cannot write to {folder}: {exc.strerror or exc}; check that it is a"
            " folder feedsync may create and write"
        ) from exc


def holder(folder: Path) -> int | None:
    """The pid holding a flock on `folder`, from /proc/locks; None when nobody (or unknown)."""
    try:
        st = os.stat(folder)
        text = PROC_LOCKS.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in text.splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 00:2d:5678 0 EOF"; waiters have "->" after the number
        if len(fields) < 6 or fields[1] != "FLOCK" or fields[5] != wanted:
            continue
        if fields[4].isdigit():
            return int(fields[4])
    return None


def holds(folder: Path, pid: object) -> bool:
    """Whether process `pid` holds the lock on `folder` (what `feedsync status` trusts)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    found = holder(folder)
    if found is not None:
        return found == pid
    if not PROC_LOCKS.exists():  # no way to see locks here: the pid being alive must do
        return alive(pid)
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire(
    folder: Path, *, wait: float = 0.0, give_way: Callable[[int | None], bool] = lambda pid: False
) -> Lock:
    """Take the output folder's lock, waiting up to `wait` seconds for another holder.

    `give_way(pid)` answers whether the holder is one not to wait for (a daemon, which never
    lets go): then `Busy` is raised at once.
    """
    fd = _open(folder)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return Lock(folder, fd)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise OutputError(f"cannot lock {folder}: {exc.strerror or exc}") from exc
            pid = holder(folder)
            if give_way(pid) or time.monotonic() >= deadline:
                raise Busy(_busy_message(folder, pid))
            time.sleep(POLL_SECONDS)
    except BaseException:
        os.close(fd)
        raise


def _busy_message(folder: Path, pid: int | None) -> str:
    who = f"feedsync (pid {pid})" if pid is not None else "feedsync process"
    stop = (
        f"stop it (kill {pid}, or 'systemctl stop feedsync' for the service)"
        if pid is not None
        else "stop it"
    )
    return (
        f"another {who} is writing {folder}; {stop} or choose another output folder"
        " ('feedsync status' shows what it is doing)"
    )
