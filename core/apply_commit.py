"""Committing a verified fix without running git where repository code could have written.

The scratch worktree a fix was made and verified in may have been rewritten by the code under
test (its ``.git`` file, ``.gitattributes``, anything). So nothing here runs git in it or reads
its ``.git``: the fix's files are read as plain bytes (no symlinks followed, regular files only),
then written into the object database with plumbing (``hash-object --no-filters``,
``update-index --cacheinfo``, ``write-tree``, ``commit-tree``, ``update-ref``) against the real
repository's git directory, resolved before any repository code ran, with hooks, fsmonitor and
system config off. No filter driver, hook or fsmonitor command can run.

Branches: controlroom only moves a branch it made. Each branch it writes is mirrored by
``refs/controlroom/branches/<branch>`` in the same atomic ref transaction; a branch that exists
without that record (or moved since) is refused, and the final update is a compare-and-swap.
"""

from __future__ import annotations

import os
import stat
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from controlroom.core.errors import RepositoryError
from controlroom.core.secrets import child_env

RECORD_NAMESPACE = "refs/controlroom/branches/"
ZERO = "0" * 40
MAX_FILE_BYTES = 20_000_000  # a fix file larger than this is not a fix
HARDENING = [
    "-c",
    f"core.hooksPath={os.devnull}",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.untrackedCache=false",
    "-c",
    "commit.gpgSign=false",
    "-c",
    "core.quotepath=off",
]
IDENTITY = {
    "GIT_AUTHOR_NAME": "controlroom",
    "GIT_AUTHOR_EMAIL": "controlroom@localhost",
    "GIT_COMMITTER_NAME": "controlroom",
    "GIT_COMMITTER_EMAIL": "controlroom@localhost",
}


class UnsafeFix(Exception):
    """The fix cannot be committed as it stands (a path or file controlroom refuses); one line."""


def git_env(git_dir: Path | None, **extra: str) -> dict[str, str]:
    """The environment of a hardened git call: no inherited ``GIT_*``, no system config."""
    env = {k: v for k, v in child_env().items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", GIT_LITERAL_PATHSPECS="1")
    env["LC_ALL"] = "C"
    if git_dir is not None:
        env["GIT_DIR"] = str(git_dir)
    env.update(extra)
    return env


def run_git(
    args: list[str], *, env: dict[str, str], cwd: Path, stdin: bytes | None = None
) -> bytes:
    """One hardened git call; RepositoryError with git's first line when it fails."""
    try:
        result = subprocess.run(
            ["git", *HARDENING, *args], cwd=cwd, env=env, input=stdin, capture_output=True
        )
    except OSError as exc:
        raise RepositoryError(f"cannot run git: {exc}") from None
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RepositoryError(f"git {args[0]} failed: {lines[0] if lines else result.returncode}")
    return result.stdout


# -- the fix's files, read as data ---------------------------------------------------------------
def checked_path(path: str) -> PurePosixPath:
    """``path`` when it is a plain relative path inside the tree, outside any ``.git``."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or "\\" in path or "\0" in path:
        raise UnsafeFix(f"the fix names a path controlroom does not commit: {path!r}")
    for part in pure.parts:
        if part in ("", ".", "..") or part.casefold().rstrip(". ") == ".git":
            raise UnsafeFix(f"the fix names a path controlroom does not commit: {path!r}")
    return pure


def read_fix_file(tree: Path, path: str) -> bytes:
    """The bytes of ``tree/path``, following no symlink on the way; a regular file only."""
    parts = checked_path(path).parts
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tree, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            nxt = os.open(part, flags | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        handle = os.open(parts[-1], flags | os.O_NONBLOCK, dir_fd=fd)
    except OSError as exc:
        raise UnsafeFix(
            f"{path} is not a plain file in the fix's worktree ({exc.strerror})"
        ) from None
    finally:
        os.close(fd)
    with os.fdopen(handle, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFix(f"{path} is not a plain file in the fix's worktree")
        if info.st_size > MAX_FILE_BYTES:
            raise UnsafeFix(f"{path} is larger than {MAX_FILE_BYTES} bytes")
        return file.read(MAX_FILE_BYTES + 1)


def fix_files(tree: Path, paths: Iterable[str], given: dict[str, str]) -> dict[str, bytes]:
    """Path -> content of the fix: the agent's own text where it gave it, else read from ``tree``."""
    files: dict[str, bytes] = {}
    for path in dict.fromkeys([*paths, *given]):
        checked_path(path)
        files[path] = given[path].encode("utf-8") if path in given else read_fix_file(tree, path)
    return files


# -- branches --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BranchClaim:
    """A branch controlroom may write: absent now (``expected`` None) or at controlroom's commit."""

    branch: str
    expected: str | None

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.branch}"

    @property
    def record(self) -> str:
        return f"{RECORD_NAMESPACE}{self.branch}"


class Committer:
    """Writes fixes into the repository whose git directory is ``git_dir`` (the common dir)."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = Path(git_dir)

    def _git(self, args: list[str], *, stdin: bytes | None = None, **extra: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="controlroom-git-") as cwd:
            return run_git(args, env=git_env(self.git_dir, **extra), cwd=Path(cwd), stdin=stdin)

    def claim_branch(self, branch: str) -> BranchClaim:
        """The branch if controlroom may write it; UnsafeFix saying why not otherwise."""
        ref = f"refs/heads/{branch}"
        if not branch or branch.startswith("-") or _invalid_ref(ref):
            raise UnsafeFix(f"{branch!r} is not a valid branch name (apply.branch_prefix)")
        claim = BranchClaim(branch, None)
        found = self._refs([claim.ref, claim.record])
        current, mine = found.get(claim.ref), found.get(claim.record)
        if current is None:
            return claim
        if mine != current:
            why = "controlroom did not make it" if mine is None else "it moved since controlroom"
            raise UnsafeFix(
                f"branch {branch} exists ({current[:12]}) and {why}: not moved; "
                "rename or delete it, then approve the task again"
            )
        return BranchClaim(branch, current)

    def commit(self, base: str, files: dict[str, bytes], message: str) -> str:
        """A commit of ``files`` on top of ``base`` (no ref moves); its sha."""
        for path in files:
            checked_path(path)
        modes = self._modes(base, list(files))
        with tempfile.TemporaryDirectory(prefix="controlroom-index-") as holder:
            index = str(Path(holder) / "index")
            self._git(["read-tree", base], GIT_INDEX_FILE=index)
            entries = []
            for path, data in files.items():
                sha = self._git(["hash-object", "-w", "--no-filters", "--stdin"], stdin=data)
                entries.append(f"{modes.get(path, '100644')} {sha.decode().strip()}\t{path}")
            listing = ("\n".join(entries) + "\n").encode("utf-8")
            self._git(
                ["update-index", "--add", "--index-info"], stdin=listing, GIT_INDEX_FILE=index
            )
            tree = self._git(["write-tree"], GIT_INDEX_FILE=index).decode().strip()
        if tree == self._git(["rev-parse", f"{base}^{{tree}}"]).decode().strip():
            raise UnsafeFix("the fix changed no file")
        out = self._git(
            ["commit-tree", "--no-gpg-sign", tree, "-p", base, "-F", "-"],
            stdin=message.encode("utf-8"),
            **IDENTITY,
        )
        return out.decode().strip()

    def publish(self, claim: BranchClaim, commit: str) -> None:
        """Point the branch (and controlroom's record of it) at ``commit``, atomically, only if the
        branch is still where :meth:`claim_branch` saw it."""
        script = (
            f"update {claim.ref} {commit} {claim.expected or ZERO}\n"
            f"update {claim.record} {commit}\n"
        )
        try:
            self._git(["update-ref", "--stdin"], stdin=script.encode())
        except RepositoryError as exc:
            raise RepositoryError(
                f"branch {claim.branch} changed while the fix was made: not moved "
                f"(the fix is commit {commit[:12]}; {exc})"
            ) from None

    def _refs(self, names: list[str]) -> dict[str, str]:
        out = self._git(["for-each-ref", "--format=%(refname) %(objectname)", *names])
        found = dict(line.split(" ", 1) for line in out.decode().splitlines() if " " in line)
        return {name: sha for name, sha in found.items() if name in names}

    def _modes(self, base: str, paths: list[str]) -> dict[str, str]:
        """The mode of each path at ``base``; UnsafeFix for a symlink or submodule there."""
        out = self._git(["ls-tree", "-z", base, "--", *paths])
        modes = {}
        for entry in out.decode("utf-8", "surrogateescape").split("\0"):
            if not entry:
                continue
            meta, _, path = entry.partition("\t")
            mode = meta.split(" ", 1)[0]
            if mode not in ("100644", "100755"):
                raise UnsafeFix(f"{path} is not a plain file at HEAD (mode {mode})")
            modes[path] = mode
        return modes


def _invalid_ref(ref: str) -> bool:
    result = subprocess.run(
        ["git", "check-ref-format", ref], env=git_env(None), capture_output=True, check=False
    )
    return result.returncode != 0


# -- patches applied without the tree's repository -----------------------------------------------
def apply_patch(tree: Path, diff: str) -> str | None:
    """``git apply --recount`` of ``diff`` to the files of ``tree``, as a plain patch tool: against an
    empty git directory of its own, so neither the tree's ``.git`` nor the repository's config (its
    filter drivers) is read. None when it applied, else git's first line of complaint."""
    with tempfile.TemporaryDirectory(prefix="controlroom-patch-") as holder:
        empty = Path(holder) / "git"
        env = git_env(None)
        subprocess.run(
            ["git", "init", "-q", "--bare", str(empty)], env=env, capture_output=True, check=True
        )
        env.update(GIT_DIR=str(empty), GIT_WORK_TREE=str(tree))
        try:
            run_git(["apply", "--recount", "-"], env=env, cwd=tree, stdin=diff.encode("utf-8"))
        except RepositoryError as exc:
            return str(exc).removeprefix("git apply failed: ")
    return None
