"""A Celery worker's own clone of the repository, fetched at the commits it is asked about.

A worker on another machine has no copy of the coordinator's repository: it clones the remote
(``[subagents] remote``, default the ``--repo`` it was started on) once into its cache
directory and fetches a commit when a unit names one it lacks. Concurrent units of one worker
(prefork children) take a file lock around clone and fetch. Git runs with hooks off and no
terminal prompt; the operator's own credentials (SSH agent, credential helper) are used, because
the remote is the operator's choice, never the repository's (``remote`` is privileged).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from controlroom.core.errors import RepositoryError
from controlroom.core.subagents.celery_settings import masked

_ENV = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
_HARDENED = ["-c", f"core.hooksPath={os.devnull}", "-c", "core.fsmonitor=false"]


def _git(
    args: list[str], cwd: Path | None = None, timeout: float = 600.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *_HARDENED, *args],
        cwd=cwd,
        env={**os.environ, **_ENV},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class CacheClone:
    """``path`` holds a clone of ``remote``; :meth:`ensure` makes a commit present in it."""

    def __init__(self, remote: str, path: Path) -> None:
        self.remote = remote
        self.path = path
        self.fetches = 0  # fetches this process made (a figure for tests and benchmarks)
        self._present: set[str] = set()  # commits known to be here: no git call next time

    def _has(self, sha: str) -> bool:
        if sha in self._present:
            return True
        found = _git(["cat-file", "-e", f"{sha}^{{commit}}"], cwd=self.path)
        if found.returncode == 0:
            self._present.add(sha)
        return found.returncode == 0

    def _fail(self, what: str, result: subprocess.CompletedProcess[str]) -> RepositoryError:
        line = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return RepositoryError(f"{what} {masked(self.remote)} failed: {line}")

    def ready(self) -> Path:
        """Clone the remote into ``path`` unless it is there already."""
        with _locked(self.path.parent / f"{self.path.name}.lock"):
            if not (self.path / ".git").exists():
                result = _git(["clone", "--quiet", self.remote, str(self.path)])
                if result.returncode != 0:
                    raise self._fail("git clone of", result)
        return self.path

    def ensure(self, sha: str) -> Path:
        """The clone, with ``sha`` in it (fetched from the remote when missing)."""
        if sha in self._present:
            return self.path
        self.ready()
        if self._has(sha):
            return self.path
        with _locked(self.path.parent / f"{self.path.name}.lock"):
            if self._has(sha):
                return self.path
            self.fetches += 1
            result = _git(["fetch", "--quiet", "origin", sha], cwd=self.path)
            if result.returncode != 0 or not self._has(sha):  # a server that refuses a bare sha
                result = _git(
                    ["fetch", "--quiet", "origin", "+refs/heads/*:refs/remotes/origin/*"],
                    cwd=self.path,
                )
            if not self._has(sha):
                if result.returncode != 0:
                    raise self._fail(f"git fetch of {sha[:10]} from", result)
                raise RepositoryError(f"commit {sha[:10]} is not in {masked(self.remote)}")
        return self.path
