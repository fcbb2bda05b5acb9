"""The repository as controlroom sees it: refs, commits, change sets, history, temporary worktrees.

GitPython resolves refs and reads objects through its persistent ``git cat-file --batch`` process;
bulk work is one plumbing subprocess each (``diff-tree``, ``diff -U0``, ``log``, ``show-ref``), never
one process per file or per commit. History walks follow the first parent (see docs/critic.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

import git
from gitdb.exc import BadName, BadObject

from controlroom.core import worktrees
from controlroom.core.errors import RepositoryError
from controlroom.core.gitparse import (
    EMPTY_TREE,
    LOG_FORMAT,
    LogEntry,
    RawChange,
    parse_log,
    parse_patch_ranges,
    parse_raw,
)
from controlroom.core.model import ChangeSet, FileChange, FileStatus, LineRange
from controlroom.core.secrets import child_env, hidden_from_children
from controlroom.core.sourcetext import decode_text

__all__ = ["GitRepository", "LogEntry", "RepositoryError"]

_STATUS = {
    "A": FileStatus.ADDED,
    "D": FileStatus.DELETED,
    "M": FileStatus.MODIFIED,
    "T": FileStatus.MODIFIED,
    "R": FileStatus.RENAMED,
    "C": FileStatus.ADDED,
}
_NULL_SHA = "0" * 40
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}


class GitRepository:
    """One git repository. Not thread-safe across threads except through its own lock."""

    def __init__(self, path: Path | str, *, clock: Callable[[], float] | None = None) -> None:
        path = Path(path)
        if not path.exists():
            raise RepositoryError(f"not a git repository: {path} does not exist")
        try:
            self._repo = git.Repo(path, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise RepositoryError(f"not a git repository: {path}") from None
        # GitPython's git children (cat-file, ...) see no secrets either (it can only blank them).
        self._repo.git.update_environment(**{name: "" for name in hidden_from_children()})
        top = self._repo.working_tree_dir or self._repo.git_dir
        self.root = Path(top).resolve()
        self._git_dir = Path(self._repo.git_dir)
        self._lock = threading.Lock()
        self._clock = clock

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """End GitPython's persistent cat-file processes."""
        self._repo.close()

    def __enter__(self) -> GitRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- refs ------------------------------------------------------------------------------
    def head_sha(self) -> str | None:
        """The commit HEAD points at (detached or not); None when there are no commits yet."""
        try:
            return self._repo.head.commit.hexsha
        except ValueError:
            return None

    def resolve(self, ref: str) -> str:
        """The full sha of the commit ``ref`` names; RepositoryError when there is none."""
        if self.head_sha() is None:
            raise RepositoryError(f"the repository at {self.root} has no commits yet")
        with self._lock:
            try:
                obj: Any = self._repo.rev_parse(ref)
                while obj.type == "tag":
                    obj = obj.object
            except (BadName, BadObject, ValueError, IndexError, KeyError, git.GitCommandError):
                raise RepositoryError(f"unknown revision {ref!r} in {self.root}") from None
        if obj.type != "commit":
            raise RepositoryError(f"{ref!r} names a {obj.type}, not a commit, in {self.root}")
        sha: str = obj.hexsha
        return sha

    def ref_snapshot(self) -> dict[str, str]:
        """Ref name -> sha for HEAD and every ref (one ``git show-ref --head``, a few ms)."""
        result = self._run(["show-ref", "--head"], check=False)
        snapshot: dict[str, str] = {}
        for line in result.decode("utf-8", "surrogateescape").splitlines():
            sha, _, name = line.partition(" ")
            if name:
                snapshot[name] = sha
        return snapshot

    # -- commits ---------------------------------------------------------------------------
    def commits_between(self, since: str | None, until: str = "HEAD") -> list[str]:
        """Commits after ``since`` up to ``until``, oldest first, along the first-parent chain.

        A merge counts as one commit (analyzed against its first parent); the commits a merge
        brought in are not listed one by one. ``since=None`` gives the whole first-parent history.
        """
        end = self.resolve(until)
        spec = [end] if since is None else [f"{self.resolve(since)}..{end}"]
        out = self._run(["rev-list", "--first-parent", "--reverse", *spec])
        return out.decode().split()

    def changeset(self, sha: str, *, max_file_bytes: int = 1_000_000) -> ChangeSet:
        """What commit ``sha`` changed against its first parent (everything, for a root commit)."""
        return self._changeset(sha, max_file_bytes, whole_tree=False)

    def tree_changeset(self, sha: str, *, max_file_bytes: int = 1_000_000) -> ChangeSet:
        """Every file of commit ``sha`` as added, whole (a baseline of the tree, not a change)."""
        return self._changeset(sha, max_file_bytes, whole_tree=True)

    def _changeset(self, sha: str, max_file_bytes: int, *, whole_tree: bool) -> ChangeSet:
        full = self.resolve(sha)
        with self._lock:
            commit = self._repo.commit(full)
            parent = None if whole_tree else self._present_first_parent(commit)
            renames = [] if whole_tree else ["-M"]
            raw = parse_raw(
                self._run(
                    ["diff-tree", "-r", "-z", "--no-abbrev", *renames, parent or EMPTY_TREE, full]
                )
            )
            files = self._file_changes(raw, max_file_bytes)
        files = self._with_changed_lines(parent, full, files)
        message = commit.message if isinstance(commit.message, str) else commit.message.decode()
        return ChangeSet(
            repo_path=self.root,
            commit=full,
            parent=parent,
            subject=message.split("\n", 1)[0].strip(),
            author=commit.author.name or "",
            committed_at=float(commit.committed_date),
            files=tuple(files),
            is_merge=not whole_tree and len(commit.parents) > 1,
        )

    def blob_text(self, sha: str, path: str, *, max_bytes: int | None = None) -> str | None:
        """The text of ``path`` at commit ``sha`` (Python by its PEP 263 cookie, else UTF-8);
        None when absent, binary, undecodable or larger than ``max_bytes``."""
        full = self.resolve(sha)
        with self._lock:
            try:
                blob = self._repo.commit(full).tree / path
            except KeyError:
                return None
            if blob.type != "blob" or (max_bytes is not None and blob.size > max_bytes):
                return None
            data = self._repo.odb.stream(blob.binsha).read()
        if b"\0" in data[:8000]:
            return None
        return decode_text(data, path)

    def log_entries(
        self, *, since_days: int | None = None, all_refs: bool = False, max_count: int | None = None
    ) -> list[LogEntry]:
        """History with per-file line counts from ONE ``git log --numstat`` process, newest first."""
        if self.head_sha() is None:
            return []
        args = ["log", "-z", "--numstat", "--no-renames", f"--format={LOG_FORMAT}"]
        if since_days is not None:
            now = self._clock() if self._clock else None
            args.append(
                f"--since=@{int(now - since_days * 86400)}" if now else f"--since={since_days}.days"
            )
        if max_count is not None:
            args.append(f"--max-count={max_count}")
        args.append("--all" if all_refs else "HEAD")
        return parse_log(self._run(args))

    # -- worktrees -------------------------------------------------------------------------
    @property
    def common_dir(self) -> Path:
        """The git directory that holds the objects and branches (the main one for a linked tree)."""
        return Path(self._repo.common_dir).resolve()

    def worktree(self, sha: str) -> AbstractAsyncContextManager[Path]:
        """A detached worktree of ``sha`` in a temporary folder, removed afterwards
        (:func:`controlroom.core.worktrees.detached_worktree`)."""
        return worktrees.detached_worktree(self, sha)

    def local_filter_overrides(self) -> list[str]:
        """``-c`` pairs switching off the repository's own filter drivers (see
        :func:`controlroom.core.worktrees.local_filter_overrides`)."""
        return worktrees.local_filter_overrides(self)

    def prune_stale_worktrees(self) -> list[Path]:
        """Remove the worktrees of controlroom processes that are gone (killed mid-run)."""
        return worktrees.prune_stale_worktrees(self)

    # -- internals -------------------------------------------------------------------------
    def _present_first_parent(self, commit: git.Commit) -> str | None:
        """The first parent's sha, or None for a root commit or a shallow clone's boundary."""
        if not commit.parents:
            return None
        first = commit.parents[0].hexsha
        if first in self._shallow_boundary() or not self._has_object(first):
            return None
        return first

    def _shallow_boundary(self) -> set[str]:
        shallow = Path(self._repo.common_dir) / "shallow"
        try:
            return set(shallow.read_text().split())
        except OSError:
            return set()

    def _has_object(self, sha: str) -> bool:
        try:
            self._repo.odb.info(bytes.fromhex(sha))
        except (BadName, BadObject, ValueError):
            return False
        return True

    def _file_changes(self, raws: list[RawChange], max_bytes: int) -> list[FileChange]:
        """FileChanges with their texts; blobs read in bulk when a commit touches many files."""
        wanted = [b for r in raws if _skip_kind(r) is None for b in (r.old_blob, r.new_blob)]
        wanted = [b for b in wanted if b != _NULL_SHA]
        reader = self._bulk_blobs(wanted, max_bytes) if len(wanted) > 16 else None
        return [self._file_change(raw, max_bytes, reader) for raw in raws]

    def _file_change(
        self, raw: RawChange, max_bytes: int, blobs: dict[str, bytes | int] | None
    ) -> FileChange:
        status = _STATUS.get(raw.status, FileStatus.MODIFIED)
        old_path = raw.old_path if status is FileStatus.RENAMED else None
        skipped = _skip_kind(raw)
        old_text = new_text = None
        if skipped is None and raw.old_blob != _NULL_SHA:
            old_path_read = raw.old_path or raw.path
            old_text, reason = self._read_text(raw.old_blob, old_path_read, max_bytes, blobs)
            if status is FileStatus.DELETED:
                skipped = reason
        if skipped is None and raw.new_blob != _NULL_SHA:
            new_text, skipped = self._read_text(raw.new_blob, raw.path, max_bytes, blobs)
        if skipped is not None:
            old_text = new_text = None
        return FileChange(raw.path, status, old_path, old_text, new_text, (), skipped)

    def _read_text(
        self, blob: str, path: str, max_bytes: int, blobs: dict[str, bytes | int] | None
    ) -> tuple[str | None, str | None]:
        """(text, None) or (None, why it was skipped)."""
        if blobs is not None:
            found = blobs[blob]
            size = found if isinstance(found, int) else len(found)
        else:
            binsha = bytes.fromhex(blob)
            size = self._repo.odb.info(binsha).size
        if size > max_bytes:
            return None, f"too large ({size} bytes)"
        data = found if blobs is not None else self._repo.odb.stream(binsha).read()
        assert isinstance(data, bytes)
        if b"\0" in data[:8000]:
            return None, "binary"
        text = decode_text(data, path)
        return (text, None) if text is not None else (None, "not UTF-8")

    def _bulk_blobs(self, shas: list[str], max_bytes: int) -> dict[str, bytes | int]:
        """Blob sha -> content (or its size when over ``max_bytes``): two cat-file processes."""
        unique = list(dict.fromkeys(shas))
        check = self._run(
            ["cat-file", "--batch-check=%(objectname) %(objectsize)"],
            stdin="\n".join(unique).encode() + b"\n",
        )
        sizes = {}
        for line in check.decode().splitlines():
            name, _, size_text = line.partition(" ")
            sizes[name] = int(size_text)
        found: dict[str, bytes | int] = {s: n for s, n in sizes.items() if n > max_bytes}
        small = [s for s in unique if s not in found]
        out = self._run(["cat-file", "--batch"], stdin="\n".join(small).encode() + b"\n")
        pos = 0
        for sha in small:
            header_end = out.index(b"\n", pos)
            size = int(out[pos:header_end].rsplit(b" ", 1)[1])
            found[sha] = out[header_end + 1 : header_end + 1 + size]
            pos = header_end + 1 + size + 1
        return found

    def _with_changed_lines(
        self, parent: str | None, sha: str, files: list[FileChange]
    ) -> list[FileChange]:
        """Fill ``changed_lines``: whole file when added, from one ``git diff -U0`` otherwise."""
        diffed = [
            f
            for f in files
            if f.status in (FileStatus.MODIFIED, FileStatus.RENAMED) and f.new_text is not None
        ]
        ranges: dict[str, tuple[LineRange, ...]] = {}
        if diffed and parent is not None:
            paths = [p for f in diffed for p in (f.path, f.old_path) if p]
            pathspecs = [f":(literal){p}" for p in paths]
            diff = ["diff", "-U0", "-M", "--no-color", "--no-ext-diff", "--no-textconv"]
            patch = self._run([*diff, parent, sha, "--", *pathspecs])
            ranges = parse_patch_ranges(patch)
        result = []
        for f in files:
            if f.status is FileStatus.ADDED and f.new_text:
                lines = f.new_text.count("\n") + (0 if f.new_text.endswith("\n") else 1)
                f = replace(f, changed_lines=(LineRange(1, lines),))
            elif f.path in ranges:
                f = replace(f, changed_lines=ranges[f.path])
            result.append(f)
        return result

    def _run(
        self,
        args: list[str],
        *,
        check: bool = True,
        stdin: bytes | None = None,
        cwd: Path | None = None,
    ) -> bytes:
        try:
            result = subprocess.run(
                ["git", "-c", "core.quotepath=off", *args],
                cwd=cwd or self.root,
                env=child_env(_GIT_ENV),
                capture_output=True,
                check=False,
                input=stdin,
            )
        except OSError as exc:
            raise RepositoryError(f"cannot run git: {exc}") from None
        if check and result.returncode != 0:
            raise RepositoryError(f"git {_verb(args)} failed in {self.root}: {_first_line(result)}")
        return result.stdout

    async def _run_async(self, args: list[str], *, check: bool = True) -> None:
        proc = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=self.root,
            env=child_env(_GIT_ENV),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _out, err = await proc.communicate()
        except asyncio.CancelledError:  # an agent's timeout: never leave git running
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
            raise
        if check and proc.returncode != 0:
            message = err.decode("utf-8", "replace").strip().splitlines()
            detail = message[0] if message else f"exit {proc.returncode}"
            raise RepositoryError(f"git {_verb(args)} failed in {self.root}: {detail}")


def _verb(args: list[str]) -> str:
    """The git command in ``args``, past any ``-c key=value`` pairs."""
    rest = list(args)
    while len(rest) > 1 and rest[0] == "-c":
        rest = rest[2:]
    return rest[0] if rest else "?"


def _skip_kind(raw: RawChange) -> str | None:
    modes = {raw.old_mode, raw.new_mode}
    if "160000" in modes:
        return "submodule"
    if "120000" in modes:
        return "symlink"
    return None


def _first_line(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[0] if lines else f"exit {result.returncode}"
