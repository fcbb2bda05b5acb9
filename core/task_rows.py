"""The queue's rows as objects: tasks, their findings (evidence) and the decision log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from controlroom.core.model import Severity, Task, TaskState

TASK_COLUMNS = (
    "id, fingerprint, state, priority, confidence, confidence_reason, severity, rule, path, line, "
    "message, agents, symbol, suggested_fix, first_seen_commit, last_seen_commit, seen_count, "
    "created_at, updated_at, snoozed_until, resolved_commit, reason"
)


@dataclass(frozen=True, slots=True)
class Decision:
    id: int
    at: float
    task_id: int
    from_state: str
    to_state: str
    actor: str
    reason: str | None
    undoes: int | None


@dataclass(frozen=True, slots=True)
class FindingRecord:
    commit_sha: str
    agent: str
    rule: str
    severity: str
    path: str
    line: int
    message: str
    snippet: str
    suggested_fix: str | None
    confidence: float
    symbol: str | None
    fingerprint: str
    extra: dict[str, Any]


def task_from_row(row: Any) -> Task:
    return Task(
        id=row["id"],
        fingerprint=row["fingerprint"],
        state=TaskState(row["state"]),
        priority=row["priority"],
        confidence=row["confidence"],
        confidence_reason=row["confidence_reason"],
        severity=Severity(row["severity"]),
        rule=row["rule"],
        path=row["path"],
        line=row["line"],
        message=row["message"],
        agents=[a for a in row["agents"].split(",") if a],
        symbol=row["symbol"],
        suggested_fix=row["suggested_fix"],
        first_seen_commit=row["first_seen_commit"],
        last_seen_commit=row["last_seen_commit"],
        seen_count=row["seen_count"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        snoozed_until=row["snoozed_until"],
        resolved_commit=row["resolved_commit"],
        reason=row["reason"],
    )


def finding_record_from_row(row: Any) -> FindingRecord:
    return FindingRecord(
        commit_sha=row["commit_sha"],
        agent=row["agent"],
        rule=row["rule"],
        severity=row["severity"],
        path=row["path"],
        line=row["line"],
        message=row["message"],
        snippet=row["snippet"],
        suggested_fix=row["suggested_fix"],
        confidence=row["confidence"],
        symbol=row["symbol"],
        fingerprint=row["fingerprint"],
        extra=json.loads(row["extra_json"] or "{}"),
    )


def decision_from_row(row: Any) -> Decision:
    return Decision(
        row["id"],
        row["at"],
        row["task_id"],
        row["from_state"],
        row["to_state"],
        row["actor"],
        row["reason"],
        row["undoes"],
    )


__all__ = [
    "TASK_COLUMNS",
    "Decision",
    "FindingRecord",
    "decision_from_row",
    "finding_record_from_row",
    "task_from_row",
]
