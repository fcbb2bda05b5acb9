"""The post-commit hook's spool: every new commit queued once, one runner at a time drains them.

The hook (core/hooks.py) starts ``controlroom hook run --sha SHA`` detached for each commit. That
process adds ``SHA`` to ``.controlroom/hook-queue/`` (one empty file per commit, created with
``O_EXCL|O_NOFOLLOW``) and then tries the non-blocking ``flock`` on ``.controlroom/hook.lock``: the
process that gets it becomes the runner and drains the spool, the others exit at once. A runner
re-checks the spool after releasing the lock, so a commit queued while it was finishing is never
stranded. Entries are removed only after their analysis was stored.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from controlroom.core.statedir import append_private, open_private, private_dir, state_dir

QUEUE_DIR = "hook-queue"
LOCK_FILE = "hook.lock"
LOG_FILE = "hook.log"
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def escape(message: str) -> str:
    """One line: control characters and backslashes escaped, so a log entry is inert text."""
    return message.encode("unicode_escape").decode("ascii")


class HookSpool:
    """The spool, lock and log of one repository's ``.controlroom``."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.folder = state_dir(repo)
        self.queue = private_dir(self.folder / QUEUE_DIR)

    # -- log ---------------------------------------------------------------------------------
    def log(self, message: str) -> None:
        """Append one escaped line to ``hook.log`` (never through a link)."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = f"{stamp} pid {os.getpid()} {escape(message)}\n"
        with contextlib.suppress(OSError):
            append_private(self.folder / LOG_FILE, line.encode("ascii"))

    # -- spool -------------------------------------------------------------------------------
    def add(self, sha: str) -> bool:
        """Queue ``sha``; False when it was already queued."""
        if not _SHA.match(sha):
            raise ValueError(f"not a full commit sha: {sha!r}")
        try:
            os.close(open_private(self.queue / sha, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return False
        return True

    def pending(self) -> list[str]:
        """Queued shas (unordered)."""
        return [name for name in os.listdir(self.queue) if _SHA.match(name)]

    def done(self, sha: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.queue / sha)

    # -- lock --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def runner_lock(self) -> Iterator[bool]:
        """Yields True while this process holds ``hook.lock``, False when another runner has it."""
        fd = open_private(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def oldest_first(repo: Path, shas: list[str]) -> tuple[list[str], list[str]]:
    """(existing commits among ``shas`` parents before children, shas git no longer has).

    One ``git rev-list --topo-order`` walk from the queued commits, read only until every one of
    them was seen (children come before parents), then reversed.
    """
    if not shas:
        return [], []
    wanted = set(shas)
    found: list[str] = []
    proc = subprocess.Popen(
        ["git", "rev-list", "--topo-order", "--ignore-missing", "--stdin"],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write("".join(f"{sha}\n" for sha in shas).encode())
        proc.stdin.close()
        for raw in proc.stdout:
            sha = raw.decode().strip()
            if sha in wanted:
                found.append(sha)
                if len(found) == len(wanted):
                    break
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    found.reverse()
    missing = [sha for sha in shas if sha not in set(found)]
    return found, missing
