"""The Claude paths of the four agents: prompts (data/prompts), schemas, calls and validation.

Each function takes the assistant from ``ctx.assistant(purpose)`` and returns None (or nothing)
when it is None or the answer is unusable, so the agent keeps its offline result. Nothing here
runs commands or writes files; the model only fills in a JSON-schema tool. Output caps, effort and
the tier come from ``[llm.purposes.<purpose>]``; every repository text passed here (subjects, names,
paths, source) is wrapped as data by the prompt (see ``core.llm.prompts``).
"""

from __future__ import annotations

import ast
from collections.abc import Awaitable, Callable
from typing import Any

from controlroom.core.model import (
    AgentContext,
    AgentOutput,
    ChangeSet,
    FileChange,
    Finding,
    Severity,
)

CATEGORIES = ("bug", "security", "performance", "error-handling", "concurrency", "maintainability")
SEVERITIES = tuple(s.value for s in Severity)
CONTEXT_LINES = 3

REVIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "findings": {
            "type": "array",
            "maxItems": 50,
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "line": {"type": "integer", "minimum": 1},
                    "category": {"type": "string", "enum": list(CATEGORIES)},
                    "severity": {"type": "string", "enum": list(SEVERITIES)},
                    "message": {"type": "string", "minLength": 1, "maxLength": 400},
                    "suggested_fix": {"type": "string", "maxLength": 400},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                },
                "required": ["path", "line", "category", "severity", "message", "confidence"],
            },
        }
    },
    "required": ["findings"],
}
TEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"code": {"type": "string", "minLength": 20}},
    "required": ["code"],
}
SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"summary": {"type": "string", "minLength": 3, "maxLength": 120}},
    "required": ["summary"],
}
IMPACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "minLength": 10, "maxLength": 1200},
        "risk": {"type": "string", "enum": ["low", "medium", "high"]},
    },
    "required": ["summary", "risk"],
}


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


# -- critic ----------------------------------------------------------------------------------------
def hunks_text(change: ChangeSet, *, max_chars: int = 60_000) -> str:
    """The changed lines of the commit's Python files with a little context, numbered (new side)."""
    parts: list[str] = []
    size = 0
    for file in change.python_files():
        lines = (file.new_text or "").splitlines()
        shown: set[int] = set()
        for r in file.changed_lines:
            shown.update(
                range(max(1, r.start - CONTEXT_LINES), min(len(lines), r.end + CONTEXT_LINES) + 1)
            )
        if not shown:
            continue
        block = [f"--- {file.path}"]
        previous = 0
        for number in sorted(shown):
            if previous and number != previous + 1:
                block.append("...")
            marker = "+" if file.touches(number) else " "
            block.append(f"{number:>5}{marker} {lines[number - 1]}")
            previous = number
        text = "\n".join(block)
        if size + len(text) > max_chars:
            parts.append(f"--- (further files left out: over {max_chars} characters)")
            break
        parts.append(text)
        size += len(text)
    return "\n".join(parts)


def enclosing_symbol(source: str, line: int) -> str | None:
    """The dotted name of the innermost def/class containing ``line``, if the source parses."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    best: str | None = None

    def visit(node: ast.AST, prefix: str) -> None:
        nonlocal best
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                end = getattr(child, "end_lineno", child.lineno) or child.lineno
                if child.lineno <= line <= end:
                    best = f"{prefix}{child.name}"
                    visit(child, f"{best}.")

    visit(tree, "")
    return best


def _review_finding(item: dict[str, Any], files: dict[str, FileChange]) -> Finding | None:
    file = files.get(item["path"])
    if file is None or file.new_text is None:
        return None  # a path that is not in the commit: not trusted
    lines = file.new_text.splitlines()
    line = int(item["line"])
    if not 1 <= line <= len(lines):
        return None
    return Finding(
        agent="critic",
        rule=f"LLM-REVIEW/{item['category']}",
        severity=Severity(item["severity"]),
        path=file.path,
        line=line,
        message=item["message"].strip(),
        symbol=enclosing_symbol(file.new_text, line),
        snippet=lines[line - 1].strip(),
        suggested_fix=(item.get("suggested_fix") or None),
        confidence=min(max(float(item["confidence"]), 0.0), 1.0),
        extra={"source": "claude", "on_changed_line": file.touches(line)},
    )


async def review_hunks(assistant: Any, change: ChangeSet) -> list[Finding]:
    """Critic: Claude's review of the changed hunks as Findings (rule ``LLM-REVIEW/<category>``)."""
    if assistant is None:
        return []
    hunks = hunks_text(change)
    if not hunks:
        return []
    files = {f.path: f for f in change.python_files()}
    task = f"review the changed hunks of {len(files)} Python files in commit {change.short}"
    answer = await assistant.ask(
        task,
        "critic_review",
        {"commit": change.short, "subject": change.subject, "hunks": hunks},
        REVIEW_SCHEMA,
    )
    if answer is None:
        return []
    found = (_review_finding(item, files) for item in answer["findings"])
    return [f for f in found if f is not None]


# -- tests -----------------------------------------------------------------------------------------
def looks_like_pytest(code: str) -> bool:
    """Parses, and defines at least one ``test_`` function."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
        for node in ast.walk(tree)
    )


async def write_test(
    assistant: Any,
    *,
    module: str,
    qualname: str,
    source: str,
    validate: Callable[[str], Awaitable[bool]] | None = None,
) -> str | None:
    """Tests: a pytest module for ``module.qualname``, or None.

    ``validate(code)`` is the agent's own check (run it in a worktree subprocess with a timeout;
    True only when the tests pass). A failing answer is retried once a tier up; only code that
    passed ``validate`` is returned.
    """
    if assistant is None:
        return None

    async def check(answer: dict[str, Any]) -> bool:
        code = answer["code"]
        if not looks_like_pytest(code):
            return False
        return True if validate is None else bool(await validate(code))

    answer = await assistant.ask(
        f"generate pytest tests with edge cases for {qualname}",
        "test_writer",
        {"module": module, "qualname": qualname, "source": source},
        TEST_SCHEMA,
        validate=check,
    )
    return None if answer is None else answer["code"]


# -- docs ------------------------------------------------------------------------------------------
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


# -- impact ----------------------------------------------------------------------------------------
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
