"""Units of work and their results: what crosses the executor boundary, as plain JSON."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from controlroom.core.subagents.settings import PROBE


class AssignmentState(enum.StrEnum):
    PENDING = "pending"
    ASSIGNED = "assigned"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_open(self) -> bool:
        return self in (AssignmentState.PENDING, AssignmentState.ASSIGNED, AssignmentState.RUNNING)


LOCAL = "local"  # the ``subagent`` of work the core ran in its own process


@dataclass(frozen=True, slots=True)
class WorkUnit:
    """One agent run on one commit, one hobby sweep, or one probe. ``payload`` is its JSON form."""

    payload: dict[str, Any]

    @classmethod
    def agent(cls, agent: str, commit: str, *, analyze_all: bool = False) -> WorkUnit:
        return cls({"kind": "agent", "agent": agent, "commit": commit, "analyze_all": analyze_all})

    @classmethod
    def hobby(cls, hobby: str, commit: str) -> WorkUnit:
        return cls({"kind": "hobby", "hobby": hobby, "commit": commit})

    @classmethod
    def probe(cls, *, capability: str = PROBE, hold: float = 0.0, tag: str = "") -> WorkUnit:
        """A cheap unit answered by the worker itself (``hold`` seconds of simulated work)."""
        return cls({"kind": "probe", "capability": capability, "hold": hold, "tag": tag})

    @property
    def kind(self) -> str:
        return str(self.payload["kind"])

    @property
    def capability(self) -> str:
        """What a sub-agent must offer to take it: the agent's name, "hobby", or the probe's."""
        if self.kind == "agent":
            return str(self.payload["agent"])
        if self.kind == "hobby":
            return "hobby"
        return str(self.payload.get("capability", PROBE))

    @property
    def target(self) -> str:
        commit = str(self.payload.get("commit", ""))[:10]
        if self.kind == "agent":
            return f"{self.payload['agent']}@{commit}"
        if self.kind == "hobby":
            return f"{self.payload['hobby']}@{commit}"
        return (
            f"probe:{self.capability}{':' + self.payload['tag'] if self.payload.get('tag') else ''}"
        )

    def to_json(self) -> str:
        return json.dumps(self.payload, sort_keys=True)


@dataclass(slots=True)
class Assignment:
    """A row of the ``assignments`` table."""

    id: int
    kind: str
    capability: str
    target: str
    payload: dict[str, Any]
    state: AssignmentState
    subagent: str | None
    lease: int
    attempts: int
    allow_local: bool
    created_at: float
    assigned_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    duration_s: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Assignment:
        return cls(
            id=row["id"],
            kind=row["kind"],
            capability=row["capability"],
            target=row["target"],
            payload=json.loads(row["payload_json"]),
            state=AssignmentState(row["state"]),
            subagent=row["subagent"],
            lease=row["lease"],
            attempts=row["attempts"],
            allow_local=bool(row["allow_local"]),
            created_at=row["created_at"],
            assigned_at=row["assigned_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            duration_s=row["duration_s"],
            result=json.loads(row["result_json"]) if row["result_json"] else None,
            error=row["error"],
        )

    @property
    def unit(self) -> WorkUnit:
        return WorkUnit(self.payload)


@dataclass(slots=True)
class UnitResult:
    """How a unit ended: where it ran, its JSON result (e.g. ``run_to_dict``) or its error.
    ``value`` is the result in memory when the unit ran in this process (then ``result`` may be
    None: nothing was serialised)."""

    assignment_id: int
    ok: bool
    where: str
    duration_s: float = 0.0
    result: dict[str, Any] | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    value: Any = None
