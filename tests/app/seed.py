"""Seeding a real store for app, snapshot and benchmark runs.

Two ways: through the real pipeline (``analyze_commit`` with small real agents on a real repo), or,
where fixed values matter (snapshots, 100,000 tasks), plain inserts into the spine tables.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from controlroom.core.model import AgentContext, AgentOutput, ChangeSet, Finding, Severity
from controlroom.core.pipeline import CommitReport, analyze_commit
from controlroom.core.store import Store
from controlroom.core.workspace import Workspace, resolve_workspace

FIXED_NOW = 1_767_225_600.0  # 2026-01-01 00:00 UTC: snapshots and ages are computed from it

PROBLEM_CODE = """import subprocess


def main():
    value = eval(input())
    print(value)
    subprocess.call("ls " + value, shell=True)
    return value
"""


class PatternAgent:
    """A real (tiny) analyst: one finding per changed line of a Python file containing ``needle``."""

    def __init__(
        self,
        name: str,
        needle: str,
        rule: str,
        severity: Severity = Severity.HIGH,
        confidence: float = 0.6,
        extra: dict | None = None,
    ) -> None:
        self.name = name
        self.needle = needle
        self.rule = rule
        self.severity = severity
        self.confidence = confidence
        self.extra = extra or {}

    async def analyze(self, change: ChangeSet, ctx: AgentContext) -> AgentOutput:
        findings = []
        for file in change.python_files():
            for number, text in enumerate(file.new_text.splitlines(), start=1):
                if self.needle in text and (ctx.analyze_all or file.touches(number)):
                    findings.append(
                        Finding(
                            agent=self.name,
                            rule=self.rule,
                            severity=self.severity,
                            path=file.path,
                            line=number,
                            message=f"{self.needle.strip()} is risky here",
                            symbol="main",
                            snippet=text,
                            confidence=self.confidence,
                            suggested_fix=f"avoid {self.needle.strip()}",
                            extra=dict(self.extra),
                        )
                    )
        return AgentOutput(findings=findings, metrics={"doc_coverage": 50.0})


def default_agents() -> list[PatternAgent]:
    return [
        PatternAgent("critic", "eval(", "S307", Severity.CRITICAL, 0.9),
        PatternAgent(
            "tests",
            "eval(",
            "T001",
            Severity.HIGH,
            0.7,
            extra={"test": "def test_main():\n    assert main", "validation": "passed"},
        ),
        PatternAgent("critic2", "shell=True", "S602", Severity.HIGH, 0.8),
        PatternAgent("style", "print(", "T201", Severity.LOW, 0.5),
    ]


def workspace_for(repo_path: Path, db_path: Path) -> Workspace:
    return resolve_workspace(repo_path, db_path)


async def analyze(
    workspace: Workspace,
    sha: str,
    *,
    agents: Sequence[PatternAgent] | None = None,
    clock=lambda: FIXED_NOW,
) -> CommitReport:
    """Run the real pipeline on ``sha`` with its own connection (like another process would)."""
    store = await Store.open(workspace.db_path)
    try:
        return await analyze_commit(
            store, workspace, sha, list(agents or default_agents()), clock=clock
        )
    finally:
        await store.close()


async def insert_tasks(
    store: Store,
    count: int,
    *,
    now: float = FIXED_NOW,
    commit_sha: str = "c" * 40,
    start: int = 0,
    path_prefix: str = "pkg/module",
) -> None:
    """``count`` pending tasks with deterministic, varied fields, in one transaction."""
    severities = ["critical", "high", "medium", "low", "info"]
    rules = ["S307", "S602", "B006", "PERF401", "T201", "C901"]
    rows = []
    for i in range(start, start + count):
        severity = severities[i % 5]
        rows.append(
            (
                f"fp-{commit_sha[:6]}-{i}",
                "pending",
                (4 - i % 5) * 20 + i % 7,  # the severity's base priority (convergence.py)
                round(0.5 + (i % 50) / 100, 2),
                "seeded",
                severity,
                rules[i % 6],
                f"{path_prefix}{i % 40}.py",
                10 + i % 300,
                f"task {i}: something worth a look in this line",
                "critic" if i % 3 else "critic,tests",
                commit_sha,
                commit_sha,
                now - 3600 * (i % 48),
                now - 3600 * (i % 48),
            )
        )
    async with store.transaction() as conn:
        await conn.executemany(
            "INSERT INTO tasks (fingerprint, state, priority, confidence, confidence_reason, "
            "severity, rule, path, line, message, agents, first_seen_commit, last_seen_commit, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


async def insert_commit(
    store: Store,
    sha: str,
    subject: str,
    *,
    analyzed_at: float = FIXED_NOW,
    runs: Sequence[tuple[str, str, float, int, str | None, dict]] = (),
    findings: Sequence[tuple[str, str, str, str, int, str]] = (),
    counts: dict[str, int] | None = None,
) -> None:
    """A commit row with its agent runs ``(agent, status, duration, findings, error, metrics)`` and
    findings ``(agent, rule, severity, path, line, message)``."""
    counts = counts or {}
    async with store.transaction() as conn:
        await conn.execute(
            "INSERT INTO commits (sha, parent, subject, author, committed_at, analyzed_at, "
            "duration_s, agents_ok, agents_failed, findings_count, files_flagged, "
            "consensus_count, critical_count, tasks_created, tasks_updated, tasks_resolved, "
            "metrics_json) VALUES (?, NULL, ?, 'Test Author', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sha,
                subject,
                analyzed_at - 60,
                analyzed_at,
                sum(r[2] for r in runs),
                sum(1 for r in runs if r[1] == "ok"),
                sum(1 for r in runs if r[1] != "ok"),
                len(findings),
                len({f[3] for f in findings}),
                counts.get("consensus", 0),
                counts.get("critical", 0),
                counts.get("created", len(findings)),
                counts.get("updated", 0),
                counts.get("resolved", 0),
                json.dumps({r[0]: r[5] for r in runs if r[5]}),
            ),
        )
        await conn.executemany(
            "INSERT INTO agent_runs (commit_sha, agent, status, started_at, duration_s, "
            "findings_count, error, metrics_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(sha, a, s, analyzed_at - 60, d, n, e, json.dumps(m)) for a, s, d, n, e, m in runs],
        )
        await conn.executemany(
            "INSERT INTO findings (commit_sha, agent, rule, severity, path, line, message, "
            "confidence, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, 0.7, ?)",
            [(sha, a, r, s, p, ln, m, f"{r}:{p}:{ln}") for a, r, s, p, ln, m in findings],
        )
