"""The ``.controlroom`` folder, handled as hostile ground: the repository may plant links in it.

Every file controlroom writes there is opened with ``O_NOFOLLOW`` (a link is refused, never followed),
new files get mode 0600 and the folder 0700. A ``.controlroom`` that is a link, holds a link, or has
files tracked by git is refused with one line (exit 3) before anything is written.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
from pathlib import Path

from controlroom.core.errors import ControlroomError, ExitCode

STATE_DIR_NAME = ".controlroom"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class UnsafeStateError(ControlroomError):
    """``.controlroom`` (or something in it) is a link or is tracked by git: refused."""

    exit_code = ExitCode.RUNTIME


def open_private(path: Path, flags: int, *, dir_fd: int | None = None) -> int:
    """``os.open`` that never follows a link at ``path`` and creates files with mode 0600."""
    try:
        return os.open(path, flags | _NOFOLLOW | _CLOEXEC, 0o600, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeStateError(f"{path} is a symbolic link: refused (not followed)") from None
        raise


def append_private(path: Path, data: bytes) -> None:
    """Append ``data`` to ``path`` (created 0600), never through a link."""
    fd = open_private(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Replace the contents of ``path`` (created 0600), never through a link."""
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _tracked(repo: Path) -> list[str]:
    """Paths under ``.controlroom`` that git tracks (a repository cannot plant our state)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--", STATE_DIR_NAME],
            cwd=repo,
            capture_output=True,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        ).stdout
    except OSError:
        return []
    return [p.decode("utf-8", "replace") for p in out.split(b"\0") if p]


def check_state_dir(repo: Path) -> None:
    """UnsafeStateError when ``<repo>/.controlroom`` or anything in it is a link or tracked."""
    folder = repo / STATE_DIR_NAME
    tracked = _tracked(repo)
    if tracked:
        raise UnsafeStateError(
            f"{folder} is tracked by git ({tracked[0]}{' ...' if len(tracked) > 1 else ''}): "
            "refused; controlroom keeps its state there (remove it from the repository)"
        )
    try:
        info = folder.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeStateError(f"{folder} is a symbolic link: refused (not followed)")
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeStateError(f"{folder} is not a directory: refused")
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in [*dirnames, *filenames]:
            entry = Path(dirpath) / name
            if entry.is_symlink():
                raise UnsafeStateError(f"{entry} is a symbolic link: refused (not followed)")


def state_dir(repo: Path) -> Path:
    """``<repo>/.controlroom``, checked, created 0700 with a ``.gitignore`` of ``*``."""
    check_state_dir(repo)
    folder = repo / STATE_DIR_NAME
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        fd = open_private(folder / ".gitignore", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return folder
    except OSError as exc:
        raise ControlroomError(
            f"cannot create {folder}: {exc.strerror or exc} (use --db PATH for a store elsewhere)"
        ) from None
    try:
        os.write(fd, b"*\n")
    finally:
        os.close(fd)
    return folder


def private_file(path: Path) -> Path:
    """Create ``path`` (mode 0600) if absent without following a link; return it."""
    try:
        os.close(open_private(path, os.O_RDWR | os.O_CREAT))
    except OSError as exc:
        raise ControlroomError(f"cannot open {path} for writing: {exc.strerror or exc}") from None
    return path


def private_dir(path: Path) -> Path:
    """Create the folder ``path`` (mode 0700) if absent; refuse a link."""
    try:
        path.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise ControlroomError(f"cannot create {path}: {exc.strerror or exc}") from None
    if path.is_symlink() or not path.is_dir():
        raise UnsafeStateError(f"{path} is not a plain directory: refused")
    return path
