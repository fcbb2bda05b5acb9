"""The branches ``apply`` made: list them, show their diff, merge one onto the current branch,
delete one.

Listing and diffs only read. :meth:`Branches.merge` is the one place controlroom runs git in the
operator's own working tree: it refuses while ``git status --porcelain`` shows anything, then
fast-forwards the current branch when it can, else cherry-picks the branch's commits (``-x``),
aborting the cherry-pick on a conflict so the tree is left as it was. :meth:`Branches.delete`
removes only a branch controlroom made (``refs/controlroom/branches/<branch>`` records it and the
branch has not moved since), never one checked out in a worktree. Every git call has hooks,
fsmonitor and signing off, no system config and no inherited ``GIT_*`` (core/apply_commit.py).
"""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from controlroom.core.apply_commit import HARDENING, RECORD_NAMESPACE, git_env, run_git
from controlroom.core.errors import ControlroomError, ExitCode, RepositoryError, UsageError
from controlroom.core.store import Store

MAX_DIFF_BYTES = 200_000  # a longer diff is cut, with a line saying so


class BranchRefused(ControlroomError):
    """A merge or delete controlroom will not do as things stand (dirty tree, conflict,
    a branch it did not make); one line, exit 1."""

    exit_code = ExitCode.THRESHOLD


@dataclass(slots=True)
class BranchInfo:
    """One ``<prefix>*`` branch and what controlroom knows of it."""

    name: str
    tip: str
    subject: str
    ahead: int  # commits on the branch not on the current branch
    behind: int  # commits on the current branch not on the branch
    ours: bool  # controlroom made it and it has not moved since
    merged: bool  # every change of the branch is on the current branch (merged or picked)
    task_id: int | None = None
    rule: str = ""
    path: str = ""
    line: int | None = None
    task_state: str = ""
    verification: str = ""  # the applied attempt's summary: how the fix was checked

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class MergeResult:
    branch: str
    how: str  # fast-forward | cherry-pick | nothing (already there)
    head: str  # the current branch's tip afterwards
    commits: int  # commits brought onto the current branch

    def line(self, target: str) -> str:
        if self.how == "nothing":
            return f"{self.branch} is already on {target}: nothing to merge"
        return (
            f"merged {self.branch} onto {target} by {self.how} "
            f"({self.commits} commit{'s' if self.commits != 1 else ''}; now {self.head[:12]})"
        )


class Branches:
    """The controlroom branches of the repository whose working tree is ``root``."""

    def __init__(self, root: Path, prefix: str) -> None:
        self.root = Path(root)
        self.prefix = prefix

    # -- git ------------------------------------------------------------------------------------
    def _git(self, *args: str) -> str:
        out = run_git(list(args), env=git_env(None, GIT_EDITOR=":"), cwd=self.root)
        return out.decode("utf-8", "replace")

    def _try(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["git", *HARDENING, *args],
            cwd=self.root,
            env=git_env(None, GIT_EDITOR=":"),
            capture_output=True,
            check=False,
        )

    def _sha(self, ref: str) -> str | None:
        found = self._try("rev-parse", "-q", "--verify", f"{ref}^{{commit}}")
        return found.stdout.decode().strip() if found.returncode == 0 else None

    def current(self) -> str | None:
        """The checked-out branch's short name; None when HEAD is detached."""
        found = self._try("symbolic-ref", "-q", "--short", "HEAD")
        return found.stdout.decode().strip() or None if found.returncode == 0 else None

    # -- reading --------------------------------------------------------------------------------
    def all(self) -> list[BranchInfo]:
        """Every ``<prefix>*`` branch, newest task first."""
        fmt = "%(refname)%00%(objectname)%00%(subject)"
        out = self._git("for-each-ref", f"--format={fmt}", "refs/heads/", RECORD_NAMESPACE)
        heads: dict[str, tuple[str, str]] = {}
        records: dict[str, str] = {}
        for line in out.splitlines():
            ref, sha, subject = [*line.split("\0"), "", ""][:3]
            if ref.startswith(RECORD_NAMESPACE):
                records[ref.removeprefix(RECORD_NAMESPACE)] = sha
            elif ref.startswith(f"refs/heads/{self.prefix}"):
                heads[ref.removeprefix("refs/heads/")] = (sha, subject)
        head = self._sha("HEAD")
        found = []
        for name, (tip, subject) in heads.items():
            ahead, behind = self._counts(head, tip)
            merged = ahead == 0 or (head is not None and not self._unpicked(tip))
            ours = records.get(name) == tip
            info = BranchInfo(name, tip, subject, ahead, behind, ours, merged, self._task_id(name))
            found.append(info)
        return sorted(found, key=lambda b: (-(b.task_id or 0), b.name))

    def get(self, name: str) -> BranchInfo:
        """The branch ``name``; UsageError (exit 2) when it is not one of the listed branches."""
        for info in self.all():
            if info.name == name:
                return info
        raise UsageError(
            f"branches: no branch {name!r} under {self.prefix!r} (controlroom branches lists them)"
        )

    def diff(self, name: str, max_bytes: int = MAX_DIFF_BYTES) -> str:
        """The branch's commits and changes against its merge base with the current branch."""
        tip = self.get(name).tip
        head = self._sha("HEAD")
        base = self._git("merge-base", head, tip).strip() if head else None
        span = f"{base}..{tip}" if base else tip
        args = ["log", "--patch", "--stat", "--no-color", "--no-ext-diff", "--no-textconv"]
        out = self._try(*args, "--format=commit %H%nAuthor: %an <%ae>%n%n    %s%n", span, "--")
        if out.returncode != 0:
            raise RepositoryError(f"git log failed for {name}")
        data = out.stdout
        if len(data) <= max_bytes:
            return data.decode("utf-8", "replace")
        text = data[:max_bytes].decode("utf-8", "ignore")
        return f"{text}\n... diff cut at {max_bytes} bytes of {len(data)} (git diff {span})\n"

    def _counts(self, head: str | None, tip: str) -> tuple[int, int]:
        if head is None:
            return int(self._git("rev-list", "--count", tip).strip()), 0
        out = self._git("rev-list", "--left-right", "--count", f"{tip}...{head}").split()
        return int(out[0]), int(out[1])

    def _unpicked(self, tip: str) -> list[str]:
        """The branch's commits whose change is not on HEAD yet, oldest first."""
        out = self._git(
            "rev-list", "--reverse", "--no-merges", "--right-only", "--cherry-pick", f"HEAD...{tip}"
        )
        return out.split()

    def _task_id(self, name: str) -> int | None:
        rest = name.removeprefix(self.prefix)
        return int(rest) if rest.isdigit() else None

    # -- changing -------------------------------------------------------------------------------
    def dirty(self) -> list[str]:
        """``git status --porcelain`` of the working tree and index: empty when clean."""
        return self._git("status", "--porcelain", "--untracked-files=normal").splitlines()

    def in_progress(self) -> str | None:
        """The operation git is in the middle of in this working tree (a merge, a rebase, ...);
        None when none is. A merge then never starts, so its abort never touches the operator's."""
        names = ["MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "rebase-merge", "rebase-apply"]
        names.append("sequencer")
        args = [arg for name in names for arg in ("--git-path", name)]
        out = self._git("rev-parse", *args).splitlines()
        labels = ["merge", "cherry-pick", "revert", "rebase", "rebase", "cherry-pick or revert"]
        for label, path in zip(labels, out, strict=False):
            if (self.root / path).exists():
                return label
        return None

    def merge(self, name: str) -> MergeResult:
        """Bring the branch onto the current branch: fast-forward, else cherry-pick.

        Runs git in the operator's working tree; refused (BranchRefused) while it is dirty, on
        a detached HEAD, and on a conflict (the cherry-pick is aborted: nothing changes)."""
        info = self.get(name)
        target = self.current()
        if target is None:
            raise BranchRefused("branches: HEAD is detached: check out the branch to merge onto")
        if target == name:
            raise BranchRefused(f"branches: {name} is the current branch: check out another one")
        busy = self.in_progress()
        if busy:
            raise BranchRefused(
                f"branches: a {busy} is in progress in {self.root}: finish or abort it first; "
                "nothing merged"
            )
        changes = self.dirty()
        if changes:
            more = f" (+{len(changes) - 1} more)" if len(changes) > 1 else ""
            raise BranchRefused(
                f"branches: the working tree of {self.root} is not clean ({changes[0].strip()}"
                f"{more}): commit or stash first; nothing merged"
            )
        if info.ahead == 0:
            return MergeResult(name, "nothing", self._sha("HEAD") or "", 0)
        if info.behind == 0:
            self._git("merge", "--ff-only", "--no-edit", "--quiet", info.tip)
            return MergeResult(name, "fast-forward", self._sha("HEAD") or "", info.ahead)
        commits = self._unpicked(info.tip)
        if not commits:
            return MergeResult(name, "nothing", self._sha("HEAD") or "", 0)
        picked = self._try("cherry-pick", "-x", "--allow-empty", *commits)
        if picked.returncode != 0:
            conflicted = self._try("diff", "--name-only", "--diff-filter=U").stdout.decode()
            self._try("cherry-pick", "--abort")
            why = f"conflict in {', '.join(conflicted.split())}" if conflicted.strip() else ""
            raise BranchRefused(
                f"branches: {name} does not apply onto {target} "
                f"({why or _first_line(picked.stderr)}): cherry-pick aborted, nothing merged"
            )
        return MergeResult(name, "cherry-pick", self._sha("HEAD") or "", len(commits))

    def delete(self, name: str) -> BranchInfo:
        """Delete the branch and controlroom's record of it, atomically; only a branch
        controlroom made, unmoved since, and checked out nowhere."""
        info = self.get(name)
        if not info.ours:
            raise BranchRefused(
                f"branches: {name} was not made by controlroom (or moved since): not deleted; "
                f"git branch -D {name} deletes it yourself"
            )
        out = self._git("worktree", "list", "--porcelain")
        if f"branch refs/heads/{name}" in out.splitlines():
            raise BranchRefused(f"branches: {name} is checked out in a worktree: not deleted")
        script = (
            f"delete refs/heads/{name} {info.tip}\ndelete {RECORD_NAMESPACE}{name} {info.tip}\n"
        )
        run_git(
            ["update-ref", "--stdin"],
            env=git_env(None),
            cwd=self.root,
            stdin=script.encode("utf-8"),
        )
        return info


def _first_line(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[0] if lines else "git failed"


async def annotate(store: Store, branches: list[BranchInfo]) -> list[BranchInfo]:
    """Fill in each branch's task (rule, path, state) and the verification of the fix on it."""
    for info in branches:
        if info.task_id is None:
            continue
        row = await store.fetchone(
            "SELECT rule, path, line, state FROM tasks WHERE id = ?", (info.task_id,)
        )
        if row is not None:
            info.rule, info.path, info.line, info.task_state = (
                row[0], row[1], row[2], row[3],
            )  # fmt: skip
        attempt = await store.fetchone(
            "SELECT outcome, summary FROM fix_attempts WHERE task_id = ? "
            "ORDER BY (fix_commit = ?) DESC, at DESC LIMIT 1",
            (info.task_id, info.tip),
        )
        if attempt is not None:
            info.verification = f"{attempt[0]}: {attempt[1]}"
    return branches
