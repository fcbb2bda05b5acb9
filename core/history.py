"""Analyzed commits, for the Convergence pane and reports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from controlroom.core.queue import FindingRecord, finding_record_from_row
from controlroom.core.store import Store


@dataclass(frozen=True, slots=True)
class CommitSummary:
    sha: str
    subject: str
    author: str
    analyzed_at: float
    duration_s: float
    agents_ok: int
    agents_failed: int
    findings_count: int
    files_flagged: int
    consensus_count: int
    critical_count: int
    tasks_created: int
    tasks_updated: int
    tasks_resolved: int
    metrics: dict[str, Any]
    skipped: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class AgentRunRecord:
    agent: str
    status: str
    duration_s: float
    findings_count: int
    error: str | None
    metrics: dict[str, Any]


def _summary(row: Any) -> CommitSummary:
    return CommitSummary(
        sha=row["sha"],
        subject=row["subject"],
        author=row["author"],
        analyzed_at=row["analyzed_at"],
        duration_s=row["duration_s"],
        agents_ok=row["agents_ok"],
        agents_failed=row["agents_failed"],
        findings_count=row["findings_count"],
        files_flagged=row["files_flagged"],
        consensus_count=row["consensus_count"],
        critical_count=row["critical_count"],
        tasks_created=row["tasks_created"],
        tasks_updated=row["tasks_updated"],
        tasks_resolved=row["tasks_resolved"],
        metrics=json.loads(row["metrics_json"] or "{}"),
        skipped=json.loads(row["skipped_json"] or "[]"),
    )


async def list_commits(store: Store, *, offset: int = 0, limit: int = 200) -> list[CommitSummary]:
    rows = await store.fetchall(
        "SELECT * FROM commits ORDER BY analyzed_at DESC, rowid DESC LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [_summary(r) for r in rows]


async def get_commit(store: Store, sha: str) -> CommitSummary | None:
    row = await store.fetchone("SELECT * FROM commits WHERE sha = ?", (sha,))
    return None if row is None else _summary(row)


async def commit_findings(store: Store, sha: str) -> list[FindingRecord]:
    rows = await store.fetchall(
        "SELECT * FROM findings WHERE commit_sha = ? AND source = 'agent' "
        "ORDER BY path, line, agent",
        (sha,),
    )
    return [finding_record_from_row(r) for r in rows]


async def commit_runs(store: Store, sha: str) -> list[AgentRunRecord]:
    rows = await store.fetchall(
        "SELECT * FROM agent_runs WHERE commit_sha = ? ORDER BY agent", (sha,)
    )
    return [
        AgentRunRecord(
            r["agent"],
            r["status"],
            r["duration_s"],
            r["findings_count"],
            r["error"],
            json.loads(r["metrics_json"] or "{}"),
        )
        for r in rows
    ]


async def analyzed_shas(store: Store, shas: list[str]) -> set[str]:
    if not shas:
        return set()
    rows = await store.fetchall(
        f"SELECT sha FROM commits WHERE sha IN ({', '.join('?' * len(shas))})", shas
    )
    return {r["sha"] for r in rows}


async def latest_analyzed(store: Store) -> str | None:
    sha: str | None = await store.fetchval(
        "SELECT sha FROM commits ORDER BY analyzed_at DESC LIMIT 1"
    )
    return sha
