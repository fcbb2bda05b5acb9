"""The impact agent's Claude step: the consequences of a commit for its dependents, in a few sentences."""

from __future__ import annotations

from typing import Any

from controlroom.core.llm.agent_steps import keep_offline, record_outcome
from controlroom.core.model import ChangeSet

__all__ = ["impact_summary", "keep_offline", "record_outcome"]

IMPACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "minLength": 10, "maxLength": 1200},
        "risk": {"type": "string", "enum": ["low", "medium", "high"]},
    },
    "required": ["summary", "risk"],
}


async def impact_summary(
    assistant: Any,
    change: ChangeSet,
    *,
    changes: list[str],
    dependents: list[str],
    critical: bool = True,
) -> dict[str, str] | None:
    """Impact: {"summary": two to four sentences, "risk": low|medium|high}, or None."""
    if assistant is None:
        return None
    kind = "critical commit" if critical else "commit"
    answer = await assistant.ask(
        f"summarize the consequences of {kind} {change.short} for its dependents",
        "impact_summary",
        {
            "commit": change.short,
            "subject": change.subject,
            "changes": "\n".join(f"- {c}" for c in changes[:50]) or "- (none listed)",
            "dependents": "\n".join(f"- {d}" for d in dependents[:50]) or "- (none found)",
        },
        IMPACT_SCHEMA,
    )
    if answer is None:
        return None
    return {"summary": " ".join(answer["summary"].split()), "risk": answer["risk"]}
