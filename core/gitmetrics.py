"""How the repository moves: velocity, branches, switches, merges and conflicts, commit style.

Bulk data comes from ONE ``git log`` subprocess over every ref (not per-commit GitPython calls);
the reflog and the branch list are one small call each. Merges that had conflicts are found from
the message (a ``Conflicts:`` line, kept by older git and by ``git commit --no-edit``) or from the
reflog: git writes ``merge X: Merge made by ...`` for a clean merge and ``commit (merge): ...`` when
a stopped merge (a conflict, or ``--no-commit``) was concluded by hand.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controlroom.core.errors import RepositoryError
from controlroom.core.secrets import child_env

CONVENTIONAL_TYPES = (
    "build", "chore", "ci", "docs", "feat", "fix", "perf", "refactor", "revert", "style", "test",
)  # fmt: skip
_CONVENTIONAL = re.compile(r"^(?P<type>[a-z]+)(?:\((?P<scope>[^()\r\n]+)\))?(?P<breaking>!)?: \S")
_CONFLICTS_LINE = re.compile(r"^#?\s*Conflicts:\s*$", re.MULTILINE)
_CHECKOUT = re.compile(r"^checkout: moving from (?P<src>.+) to (?P<dst>.+)$")
_FIELD, _RECORD = "\x1f", "\x1e"
_HOUR, _DAY, _WEEK = 3600.0, 86400.0, 7 * 86400.0


@dataclass(frozen=True, slots=True)
class LogCommit:
    sha: str
    parents: tuple[str, ...]
    committed_at: float
    author: str
    subject: str
    body: str

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


@dataclass(frozen=True, slots=True)
class ReflogEntry:
    sha: str
    at: float
    message: str


@dataclass
class GitStats:
    window_days: float
    since: float
    until: float
    commits: int
    per_hour: float
    per_day: float
    per_week: float
    commits_last_day: int
    commits_last_week: int
    authors: int
    branches_total: int
    active_branches: list[str]
    branch_switches: int
    switches_per_day: float
    merges: int
    conflict_merges: int
    conflict_merge_shas: list[str]
    conventional_checked: int  # non-merge commits in the window
    conventional_ok: int
    conventional_percent: float | None  # None when there was nothing to check
    non_conventional_examples: list[str] = field(default_factory=list)
    duration_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_conventional(subject: str, types: Collection[str] | None = CONVENTIONAL_TYPES) -> bool:
    """``type(scope)!: subject``; ``types=None`` accepts any lower-case type."""
    match = _CONVENTIONAL.match(subject)
    if match is None:
        return False
    return types is None or match["type"] in types


def _git(repo: Path, *args: str) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            check=False,
            timeout=120,
            env=child_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RepositoryError(f"git {args[0]} failed: {exc}") from exc
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RepositoryError(
            f"git {args[0]} failed: {message[-1] if message else result.returncode}"
        )
    return result.stdout.decode("utf-8", "replace")


def read_log(repo: Path, *, since: float | None = None) -> list[LogCommit]:
    """Every commit reachable from any ref (stash excluded), newest first, in one subprocess."""
    args = [
        "log",
        "--exclude=refs/stash",
        "--all",
        "--format=%H%x1f%P%x1f%ct%x1f%an%x1f%s%x1f%b%x1e",
    ]
    if since is not None:
        args.append(f"--since={datetime.fromtimestamp(since, UTC).isoformat()}")
    if not _git(repo, "for-each-ref", "--count=1", "--format=x").strip():
        return []  # no refs: a repository without commits
    commits = []
    for record in _git(repo, *args).split(_RECORD):
        record = record.lstrip("\n")
        if not record:
            continue
        sha, parents, at, author, subject, body = record.split(_FIELD, 5)
        commits.append(
            LogCommit(sha, tuple(parents.split()), float(at), author, subject, body.rstrip("\n"))
        )
    return commits


def read_reflog(repo: Path) -> list[ReflogEntry]:
    """HEAD's reflog, newest first (empty when there is none yet)."""
    try:
        text = _git(repo, "log", "-g", "--date=unix", "--format=%H%x1f%gd%x1f%gs", "HEAD")
    except RepositoryError:
        return []
    entries = []
    for line in text.splitlines():
        parts = line.split(_FIELD, 2)
        if len(parts) != 3:
            continue
        stamp = re.search(r"\{(\d+)\}", parts[1])
        if stamp:
            entries.append(ReflogEntry(parts[0], float(stamp[1]), parts[2]))
    return entries


def read_branches(repo: Path) -> dict[str, float]:
    """Local branch name -> committer time of its tip."""
    text = _git(
        repo, "for-each-ref", "--format=%(refname:short)%1f%(committerdate:unix)", "refs/heads"
    )
    branches = {}
    for line in text.splitlines():
        name, _, stamp = line.partition(_FIELD)
        branches[name] = float(stamp or 0)
    return branches


def collect_git_stats(
    repo: Path | str, *, days: float = 30.0, now: float | None = None,
    types: Iterable[str] | None = CONVENTIONAL_TYPES,
) -> GitStats:  # fmt: skip
    """The repository's movement over the last ``days`` (until ``now``, default the clock)."""
    started = time.perf_counter()
    repo = Path(repo)
    until = time.time() if now is None else now
    since = until - days * _DAY
    commits = [c for c in read_log(repo, since=since) if since <= c.committed_at <= until]
    reflog = [e for e in read_reflog(repo) if since <= e.at <= until]
    branches = read_branches(repo)

    merges = [c for c in commits if c.is_merge]
    concluded_by_hand = {e.sha for e in reflog if e.message.startswith("commit (merge):")}
    conflicted = [
        c.sha for c in merges if c.sha in concluded_by_hand or _CONFLICTS_LINE.search(c.body)
    ]
    switches = [m for e in reflog if (m := _CHECKOUT.match(e.message)) and m["src"] != m["dst"]]
    checked = [c for c in commits if not c.is_merge]
    allowed = None if types is None else frozenset(types)
    verdicts = [(c.subject, is_conventional(c.subject, allowed)) for c in checked]
    good = [subject for subject, ok in verdicts if ok]
    bad = [subject for subject, ok in verdicts if not ok]
    span_days = days if days > 0 else 1.0
    return GitStats(
        window_days=days,
        since=since,
        until=until,
        commits=len(commits),
        per_hour=len(commits) / (span_days * 24),
        per_day=len(commits) / span_days,
        per_week=len(commits) / (span_days / 7),
        commits_last_day=sum(1 for c in commits if c.committed_at > until - _DAY),
        commits_last_week=sum(1 for c in commits if c.committed_at > until - _WEEK),
        authors=len({c.author for c in commits}),
        branches_total=len(branches),
        active_branches=sorted(name for name, tip in branches.items() if since <= tip <= until),
        branch_switches=len(switches),
        switches_per_day=len(switches) / span_days,
        merges=len(merges),
        conflict_merges=len(conflicted),
        conflict_merge_shas=conflicted,
        conventional_checked=len(checked),
        conventional_ok=len(good),
        conventional_percent=100.0 * len(good) / len(checked) if checked else None,
        non_conventional_examples=bad[:5],
        duration_ms=(time.perf_counter() - started) * 1000.0,
    )


def resolve_ref(repo: Path | str, ref: str = "HEAD") -> str:
    """The full sha of ``ref``; RepositoryError for an unknown ref."""
    try:
        return _git(Path(repo), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except RepositoryError:
        raise RepositoryError(f"unknown commit: {ref}") from None


def changed_files(repo: Path | str, sha: str) -> list[str]:
    """Paths the commit changed against its first parent (all paths for a root commit)."""
    text = _git(Path(repo), "diff-tree", "--root", "--no-commit-id", "--name-only", "-r", "-z", sha)
    return [path for path in text.split("\0") if path]
