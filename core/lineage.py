"""Where an analyzed commit stands in history: may its results move tasks forward?

An analysis of commit C may advance a task (move ``last_seen_commit``, resolve it as "fixed in C",
reopen it) only when C is the repository's current HEAD or a descendant of the commit the task was
last seen in (or resolved in). Analysing an older commit, or ``--since`` a root, only adds evidence.
The ancestry answers come from ``git merge-base --is-ancestor``, asked before the store transaction.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from controlroom.core.secrets import child_env


@dataclass(slots=True)
class Lineage:
    """The analyzed commit, the HEAD at analysis time and known "is ancestor of the commit" facts."""

    commit: str
    head: str | None
    ancestors: dict[str, bool] = field(default_factory=dict)

    @property
    def is_head(self) -> bool:
        """The analyzed commit is HEAD (or there is no HEAD to compare with)."""
        return self.head is None or self.commit == self.head

    def current(self, ref: str | None) -> bool:
        """True when the analysis of ``commit`` speaks for the present about a task seen at ``ref``."""
        if self.is_head or ref == self.commit:
            return True
        return bool(ref) and self.ancestors.get(ref or "", False)


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    """``git merge-base --is-ancestor``; a commit git does not know (rewritten history, pruned)
    counts as an ancestor: the analysis of a commit that exists speaks for the present."""
    result = subprocess.run(
        ["git", "merge-base", "--is-ancestor", ancestor, descendant],
        cwd=repo, capture_output=True, check=False, env=child_env(),
    )  # fmt: skip
    return result.returncode != 1


def head_of(repo: Path) -> str | None:
    result = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", "HEAD"],
        cwd=repo, capture_output=True, text=True, env=child_env(),
    )  # fmt: skip
    return result.stdout.strip() or None if result.returncode == 0 else None


def place(repo: Path, commit: str, refs: Iterable[str | None]) -> Lineage:
    """Blocking: HEAD now and the ancestry of ``refs`` relative to ``commit``."""
    return build_lineage(repo, commit, head_of(repo), refs)


def build_lineage(repo: Path, commit: str, head: str | None, refs: Iterable[str | None]) -> Lineage:
    """Blocking (git subprocesses): call it off the event loop."""
    lineage = Lineage(commit, head)
    if lineage.is_head:
        return lineage
    for ref in {r for r in refs if r and r != commit}:
        lineage.ancestors[ref] = is_ancestor(repo, ref, commit)
    return lineage


__all__ = ["Lineage", "build_lineage", "head_of", "is_ancestor", "place"]
