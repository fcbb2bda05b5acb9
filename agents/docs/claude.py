"""The doc writer's Claude step: the summary sentence of a docstring."""

from __future__ import annotations

from typing import Any

from controlroom.core.llm.agent_steps import keep_offline, record_outcome

__all__ = ["keep_offline", "record_outcome", "summarize_docstring"]

SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"summary": {"type": "string", "minLength": 3, "maxLength": 120}},
    "required": ["summary"],
}


def clean_summary(text: str) -> str | None:
    """One line, no quotes, ending with a period; None if nothing usable is left."""
    line = " ".join(text.strip().strip('"').strip("'").split())
    if not line or "\n" in text.strip():
        return None
    return line if line.endswith((".", "!", "?")) else f"{line}."


async def summarize_docstring(
    assistant: Any, *, qualname: str, path: str, source: str
) -> str | None:
    """Docs: the summary sentence of a Google-style docstring (sections still come from the
    signature), or None."""
    if assistant is None:
        return None
    answer = await assistant.ask(
        f"summarize {qualname}",
        "doc_summary",
        {"qualname": qualname, "path": path, "source": source},
        SUMMARY_SCHEMA,
        validate=lambda a: clean_summary(a["summary"]) is not None,
    )
    return None if answer is None else clean_summary(answer["summary"])
