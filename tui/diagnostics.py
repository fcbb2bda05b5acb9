"""The one module that writes errors to stderr, and the exit codes they carry.

``translate`` turns the storage and operating-system failures a user can cause (a corrupt, locked,
read-only or full store, an unwritable repository) into one-line ControlroomErrors naming the file.
"""

from __future__ import annotations

import errno
import sqlite3
import sys
from pathlib import Path

from controlroom.core.errors import ControlroomError, ExitCode, StoreError, UsageError
from controlroom.tui.escape import terminal_safe

PROG = "controlroom"

_SQLITE_MESSAGES = (
    ("database is locked", "is locked by another process (gave up after the busy timeout)"),
    ("database table is locked", "is locked by another process (gave up after the busy timeout)"),
    ("readonly database", "is read-only: controlroom cannot write to it"),
    ("read-only", "is read-only: controlroom cannot write to it"),
    ("disk is full", "cannot grow: the disk is full"),
    ("disk i/o error", "cannot be read or written (disk I/O error)"),
    ("unable to open database", "cannot be opened (missing folder or no permission)"),
    ("not a database", "is corrupt (not a SQLite database): move it aside or pass --db"),
    ("malformed", "is corrupt (malformed): move it aside or pass --db"),
)
_OS_MESSAGES = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ELOOP: "a symbolic link was refused (not followed)",
}


def error(message: str) -> None:
    """One line on stderr: ``controlroom: error: <message>`` (control characters escaped)."""
    print(f"{PROG}: error: {terminal_safe(message)}", file=sys.stderr, flush=True)


def warn(message: str) -> None:
    print(f"{PROG}: warning: {terminal_safe(message)}", file=sys.stderr, flush=True)


def report(exc: ControlroomError) -> ExitCode:
    error(exc.message)
    return exc.exit_code


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def translate(exc: BaseException, store: Path | None = None) -> ControlroomError | None:
    """A one-line ControlroomError for a failure the user can cause; None for a real bug."""
    exc = _leaf(exc)
    if isinstance(exc, ControlroomError):
        return exc
    where = f"the store {store}" if store is not None else "the store"
    if isinstance(exc, sqlite3.DatabaseError):
        text = str(exc)
        lowered = text.lower()
        for needle, meaning in _SQLITE_MESSAGES:
            if needle in lowered:
                return StoreError(f"{where} {meaning}")
        return StoreError(f"{where}: {text}")
    if isinstance(exc, OverflowError):
        return UsageError(f"a number is out of range: {exc}")
    if isinstance(exc, OSError):
        meaning = _OS_MESSAGES.get(exc.errno or 0, exc.strerror or str(exc))
        target = exc.filename if exc.filename is not None else (store or "")
        return StoreError(f"{target}: {meaning}" if target else meaning)
    return None
