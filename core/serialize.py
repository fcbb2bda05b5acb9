"""JSON-ready dictionaries of the public types, for the store, reports and worker processes."""

from __future__ import annotations

import dataclasses
from typing import Any

from controlroom.core.model import AgentOutput, AgentRun, Finding, RunStatus, Severity


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    data = dataclasses.asdict(finding)
    data["severity"] = finding.severity.value
    return data


def finding_from_dict(data: dict[str, Any]) -> Finding:
    fields = {f.name for f in dataclasses.fields(Finding)}
    values = {k: v for k, v in data.items() if k in fields}
    values["severity"] = Severity(values["severity"])
    return Finding(**values)


def output_to_dict(output: AgentOutput) -> dict[str, Any]:
    return {
        "findings": [finding_to_dict(f) for f in output.findings],
        "metrics": output.metrics,
        "notes": output.notes,
    }


def output_from_dict(data: dict[str, Any]) -> AgentOutput:
    return AgentOutput(
        findings=[finding_from_dict(f) for f in data.get("findings", [])],
        metrics=dict(data.get("metrics", {})),
        notes=list(data.get("notes", [])),
    )


def run_to_dict(run: AgentRun) -> dict[str, Any]:
    return {
        "agent": run.agent,
        "status": run.status.value,
        "duration_s": run.duration_s,
        "output": output_to_dict(run.output),
        "error": run.error,
        "started_at": run.started_at,
        "where": run.where,
    }


def run_from_dict(data: dict[str, Any]) -> AgentRun:
    return AgentRun(
        agent=data["agent"],
        status=RunStatus(data["status"]),
        duration_s=float(data["duration_s"]),
        output=output_from_dict(data.get("output", {})),
        error=data.get("error"),
        started_at=float(data.get("started_at", 0.0)),
        where=data.get("where", "local"),
    )
