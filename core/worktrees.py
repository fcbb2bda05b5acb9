"""Temporary worktrees for running a commit's code, and clean-up of those a killed run left.

A worktree lives in ``<tmp>/controlroom-wt-<pid>-*/tree``: the pid in the folder name tells whether
its owner still runs (:func:`prune_stale_worktrees`). Checkouts run with hooks off and the
repository's own filter drivers switched off, so no command of the repository runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from controlroom.core.errors import RepositoryError
from controlroom.core.processes import process_alive

if TYPE_CHECKING:
    from controlroom.core.git import GitRepository

WORKTREE_PREFIX = "controlroom-wt-"
# No hook and no file-system monitor of the repository runs for our git commands.
HARDENED = ["-c", f"core.hooksPath={os.devnull}", "-c", "core.fsmonitor=false"]


@asynccontextmanager
async def detached_worktree(repo: GitRepository, sha: str) -> AsyncIterator[Path]:
    """A detached worktree of ``sha`` in a temporary folder, removed (and pruned) afterwards.

    The folder is ``<tmp>/controlroom-wt-<pid>-*/tree``, so a worktree left by a killed
    process is recognised by :func:`prune_stale_worktrees`. Code run in the tree may rewrite
    it (its ``.git`` file too), so removal runs no git inside it: the folder is deleted and
    ``git worktree prune`` drops the registration. The user's tree, index and HEAD are never
    touched.
    """
    full = repo.resolve(sha)
    untrusted = await asyncio.to_thread(repo.local_filter_overrides)
    holder = Path(tempfile.mkdtemp(prefix=f"{WORKTREE_PREFIX}{os.getpid()}-"))
    target = holder / "tree"
    checkout = [*HARDENED, "-c", "submodule.recurse=false", *untrusted]
    try:
        await repo._run_async(
            [*checkout, "worktree", "add", "--detach", "--quiet", str(target), full]
        )
        yield target
    finally:
        await asyncio.to_thread(remove_tree, holder)
        await repo._run_async([*HARDENED, "worktree", "prune"], check=False)


def local_filter_overrides(repo: GitRepository) -> list[str]:
    """``-c`` pairs that switch off every filter driver the repository's own config defines
    (``.git/config`` and what it includes): a checkout runs no command of theirs. Drivers of
    the user's global config (git-lfs) still apply."""
    out = repo._run(
        ["config", "--show-scope", "-z", "--name-only", "--get-regexp", r"^filter\."],
        check=False,
    )
    fields = out.decode("utf-8", "surrogateescape").split("\0")
    names = {
        key.removeprefix("filter.").rpartition(".")[0]
        for scope, key in zip(fields[::2], fields[1::2], strict=False)
        if scope in ("local", "worktree") and key.count(".") >= 2
    }
    if any("=" in name or "\n" in name for name in names):
        raise RepositoryError(
            f"{repo.root}: .git/config defines a filter driver whose name controlroom cannot "
            "switch off (it contains '=' or a newline); remove it"
        )
    pairs = []
    for name in sorted(names):
        for key, value in (("smudge", ""), ("clean", ""), ("process", ""), ("required", "0")):
            pairs += ["-c", f"filter.{name}.{key}={value}"]
    return pairs


def prune_stale_worktrees(repo: GitRepository) -> list[Path]:
    """Remove the worktrees of controlroom processes that are gone (killed mid-run); their
    folders. Worktrees of live processes, and anyone else's, are left alone. A repository with no
    linked worktree (nothing under ``<common dir>/worktrees``) costs no git process."""
    try:
        if not any((repo.common_dir / "worktrees").iterdir()):
            return []
    except OSError:  # no such folder: git has never registered a linked worktree here
        return []
    out = repo._run([*HARDENED, "worktree", "list", "--porcelain", "-z"], check=False)
    removed = []
    for record in out.decode("utf-8", "surrogateescape").split("\0"):
        if not record.startswith("worktree "):
            continue
        holder = Path(record.removeprefix("worktree ")).parent
        owner = _owner_pid(holder)
        if owner is None or process_alive(owner):
            continue
        remove_tree(holder)
        removed.append(holder)
    if removed:
        repo._run([*HARDENED, "worktree", "prune"], check=False)
    return removed


def _owner_pid(holder: Path) -> int | None:
    """The pid in a ``controlroom-wt-<pid>-*`` folder name we own; None for any other folder."""
    name = holder.name
    if not name.startswith(WORKTREE_PREFIX):
        return None
    pid, sep, _rest = name.removeprefix(WORKTREE_PREFIX).partition("-")
    if not sep or not pid.isdigit():
        return None
    try:
        if holder.lstat().st_uid != os.getuid() or holder.is_symlink():
            return None
    except OSError:
        return int(pid)  # already gone: only the registration is left
    return int(pid)


def remove_tree(path: Path) -> None:
    """Delete ``path`` without following symlinks, even where code made folders read-only."""
    if path.is_symlink():
        path.unlink()
        return
    if not path.is_dir():
        return
    with contextlib.suppress(OSError):
        path.chmod(0o700)
    for folder, subfolders, _files in os.walk(path):
        for name in subfolders:
            sub = os.path.join(folder, name)
            if not os.path.islink(sub):
                with contextlib.suppress(OSError):
                    os.chmod(sub, 0o700)
    shutil.rmtree(path, ignore_errors=True)
