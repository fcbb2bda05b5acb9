"""``history_index``: index commit messages and changed paths for search, and flag hotspots
(files changed often, mostly by fixes)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from controlroom.agents.sweeps.common import python_files_at
from controlroom.core.blobs import max_file_bytes
from controlroom.core.model import AgentContext, AgentOutput, ChangeSet, Finding, Severity
from controlroom.core.secrets import child_env
from controlroom.core.settings import table
from controlroom.core.subagents.history import IndexedCommit, write_index

_FIX = re.compile(r"\b(fix|fixes|fixed|bug|hotfix|regression|revert|broken|crash)\b", re.I)
_SEP = "\x1e"


def read_log(repo: Path, sha: str, since_days: int) -> list[IndexedCommit]:
    """One ``git log`` for every commit reachable from ``sha`` in the last ``since_days`` days."""
    out = subprocess.run(
        ["git", "log", sha, "--no-renames", "--name-only", f"--since={since_days}.days",
         f"--format={_SEP}%H%x1f%ct%x1f%an%x1f%s"],
        cwd=repo, capture_output=True, check=True, env=child_env(),
    ).stdout.decode("utf-8", "replace")  # fmt: skip
    commits = []
    for block in out.split(_SEP)[1:]:
        header, _, rest = block.partition("\n")
        full_sha, when, author, subject = ([*header.split("\x1f"), "", "", "", ""])[:4]
        paths = tuple(line for line in rest.splitlines() if line.strip())
        commits.append(IndexedCommit(full_sha, float(when or 0), author, subject, paths))
    return commits


class HistoryIndex:
    name: ClassVar[str] = "history_index"

    async def analyze(self, change: ChangeSet, ctx: AgentContext) -> AgentOutput:
        config = table("hobbies", ctx.config)
        days = int(config["history_days"])
        min_commits = int(config["hotspot_min_commits"])
        limit = int(config["max_findings"])
        commits = await asyncio.to_thread(read_log, change.repo_path, change.commit, days)
        store = getattr(ctx, "store", None)
        written = await write_index(store, commits) if store is not None else 0
        existing = await asyncio.to_thread(
            python_files_at, change.repo_path, change.commit, max_file_bytes(ctx.settings)
        )
        findings = self._hotspots(commits, existing, min_commits, days)[:limit]
        metrics: dict[str, Any] = {
            "commits_indexed": written,
            "commits_seen": len(commits),
            "hotspots": len(findings),
            "indexed_at": time.time(),
        }
        notes = [f"indexed {written} commits of the last {days} days"]
        if store is None:
            notes.append("no store in this context: the index was not written")
        return AgentOutput(findings, metrics, notes)

    def _hotspots(
        self, commits: list[IndexedCommit], files: dict[str, str], min_commits: int, days: int
    ) -> list[Finding]:
        touched: Counter[str] = Counter()
        fixes: Counter[str] = Counter()
        for commit in commits:
            is_fix = bool(_FIX.search(commit.subject))
            for path in set(commit.paths):
                touched[path] += 1
                fixes[path] += is_fix
        found = []
        for path, count in touched.most_common():
            if count < min_commits or path not in files or fixes[path] * 2 < count:
                continue
            first_line = next((ln.strip() for ln in files[path].splitlines() if ln.strip()), "")
            found.append(
                Finding(
                    agent=self.name, rule="HIST100",
                    severity=Severity.MEDIUM if fixes[path] >= 2 * min_commits else Severity.LOW,
                    path=path, line=1,
                    message=f"{path} changed in {count} commits in {days} days, "
                    f"{fixes[path]} of them fixes: a hotspot worth a closer look",
                    snippet=first_line, confidence=min(0.9, 0.4 + fixes[path] / (4 * count)),
                    suggested_fix="review its design; add tests around the code the fixes touched",
                    extra={"commits": count, "fixes": fixes[path]},
                )
            )  # fmt: skip
        return found
