"""The critic's Claude steps: a triage of its security findings on the cheapest tier (each
confirmed or dismissed, with the reason), and a review of the changed hunks, as findings
``LLM-REVIEW/<category>``.

The model only fills in a JSON-schema tool; every repository text is wrapped as data by the prompt
(``core.llm.prompts``). None or an unusable answer leaves the offline findings alone.
"""

from __future__ import annotations

import ast
from typing import Any

from controlroom.core.llm.agent_steps import keep_offline, record_outcome
from controlroom.core.model import ChangeSet, FileChange, Finding, Severity

__all__ = ["keep_offline", "record_outcome", "review_hunks", "triage_security"]

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


TRIAGE_CONTEXT = 4  # lines shown above and below a flagged line
TRIAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdicts": {
            "type": "array",
            "maxItems": 100,
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "verdict": {"type": "string", "enum": ["confirm", "dismiss"]},
                    "reason": {"type": "string", "minLength": 1, "maxLength": 300},
                },
                "required": ["id", "verdict", "reason"],
            },
        }
    },
    "required": ["verdicts"],
}


def triage_candidates(findings: list[Finding], limit: int) -> list[Finding]:
    """The security findings (``S...``) of medium and above worth a second look, worst first."""
    picked = [
        f
        for f in findings
        if f.rule.startswith("S")
        and f.rule[1:2].isdigit()
        and f.severity.rank >= Severity.MEDIUM.rank
        and "triage" not in f.extra
    ]
    picked.sort(key=lambda f: (-f.severity.rank, f.path, f.line))
    return picked[:limit]


def _triage_text(items: list[Finding], files: dict[str, FileChange]) -> str:
    blocks = []
    for number, f in enumerate(items, 1):
        lines = (files[f.path].new_text or "").splitlines() if f.path in files else []
        start, end = max(1, f.line - TRIAGE_CONTEXT), min(len(lines), f.line + TRIAGE_CONTEXT)
        code = "\n".join(
            f"{n:>5}{'>' if n == f.line else ' '} {lines[n - 1]}" for n in range(start, end + 1)
        )
        blocks.append(f"[{number}] {f.rule} {f.path}:{f.line}: {f.message}\n{code}")
    return "\n\n".join(blocks)


async def triage_security(
    assistant: Any, findings: list[Finding], change: ChangeSet, limit: int
) -> dict[str, int]:
    """Ask the triage tier about the security findings; record each verdict and its reason on
    the finding (``extra["triage"]``, and the message). A dismissed finding drops to low with a
    lower confidence; a confirmed one keeps its severity. Unanswered findings stay as they were."""
    items = triage_candidates(findings, limit)
    counts = {"asked": len(items), "confirmed": 0, "dismissed": 0}
    if assistant is None or not items:
        return counts
    files = {f.path: f for f in change.python_files()}
    answer = await assistant.ask(
        f"triage {len(items)} security findings of commit {change.short}",
        "security_triage",
        {"findings": _triage_text(items, files)},
        TRIAGE_SCHEMA,
    )
    if answer is None:
        return counts
    seen: set[int] = set()
    for verdict in answer["verdicts"]:
        number = int(verdict["id"])
        if not 1 <= number <= len(items) or number in seen:
            continue  # an id we did not send, or a second verdict for one: ignored
        seen.add(number)
        finding, reason = items[number - 1], " ".join(str(verdict["reason"]).split())
        confirmed = verdict["verdict"] == "confirm"
        finding.extra["triage"] = {"verdict": verdict["verdict"], "reason": reason}
        if confirmed:
            finding.message += f" (triage: confirmed: {reason})"
            counts["confirmed"] += 1
        else:
            finding.extra["triage"]["severity_before"] = finding.severity.value
            finding.severity = Severity.LOW
            finding.confidence = round(finding.confidence * 0.5, 3)
            finding.message += f" (triage: dismissed: {reason})"
            counts["dismissed"] += 1
    return counts
