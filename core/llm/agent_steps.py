"""What every agent does around a Claude step: publish its offline result first, record the outcome."""

from __future__ import annotations

from typing import Any

from controlroom.core.model import AgentContext, AgentOutput, Finding


def keep_offline(
    ctx: AgentContext, findings: list[Finding], metrics: dict[str, Any], notes: list[str]
) -> None:
    """Publish the offline result before a Claude step: should the agent still run out of time,
    the pipeline keeps these findings (``AgentContext.partial``)."""
    ctx.partial = AgentOutput(findings=list(findings), metrics=dict(metrics), notes=list(notes))


def record_outcome(assistant: Any, metrics: dict[str, Any], notes: list[str], step: str) -> None:
    """What the Claude ``step`` did, in the run's ``metrics["llm"]``; when the service failed (a
    timeout, an HTTP error, no time left in the agent's budget) also a note. The agent's offline
    findings stand either way: a failed Claude step never fails the run."""
    summary = getattr(assistant, "summary", None)
    if summary is None or not getattr(assistant, "asked", 0):
        return
    outcome = summary()
    metrics["llm"] = outcome
    if outcome["problems"]:
        notes.append(
            f"Claude {step} unavailable ({outcome['last_problem']}): offline findings kept"
        )
