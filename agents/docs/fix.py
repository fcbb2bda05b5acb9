"""Carrying out an approved DOC100 task: apply the drafted docstring at HEAD and check it.

The diff the operator saw is applied with ``git apply`` (which tolerates lines that moved); the
file must still parse and the symbol must now have a docstring.
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

from controlroom.core.apply import FixOutcome
from controlroom.core.apply_commit import apply_patch
from controlroom.core.model import Task
from controlroom.core.queue import FindingRecord

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def find_definition(module: ast.Module, qualname: str) -> Definition | None:
    """The class or function ``qualname`` (``Class.method``) at the top of ``module``."""
    body: list[ast.stmt] = module.body
    found: Definition | None = None
    for part in qualname.split("."):
        found = next(
            (n for n in body if isinstance(n, Definition) and n.name == part),
            None,
        )
        if found is None:
            return None
        body = found.body
    return found


async def git_apply(tree: Path, diff: str) -> str | None:
    """Apply ``diff`` in ``tree``; None when it applied, else git's first line of complaint."""
    return await asyncio.to_thread(apply_patch, tree, diff)


async def apply_docstring(
    task: Task, findings: list[FindingRecord], tree: Path, config: dict[str, Any]
) -> FixOutcome | None:
    """Apply the drafted docstring of the task, or of every item of a grouped task (each checked
    on its own; the outcome names every draft that could not be applied and why)."""
    drafts: dict[tuple[str, str], FindingRecord] = {}
    for finding in findings:
        if finding.rule == "DOC100" and finding.suggested_fix:
            drafts[(finding.path, finding.symbol or task.symbol or "")] = finding
    if not drafts:
        return None  # an incomplete docstring (DOC102-105) is rewritten by a person
    if len(drafts) == 1:
        (path, symbol), draft = next(iter(drafts.items()))
        problem = await _apply_one(tree, draft, symbol)
        if problem is not None:
            return FixOutcome(False, problem)
        return FixOutcome(
            True, f"added the docstring of {symbol} in {path}; the file parses", [path]
        )
    applied: list[str] = []
    failed: list[str] = []
    for (path, symbol), draft in sorted(drafts.items()):
        problem = await _apply_one(tree, draft, symbol)
        if problem is None:
            applied.append(path)
        else:
            failed.append(f"{path}:{draft.line} {symbol}: {problem}")
    if not applied:
        return FixOutcome(False, f"none of the {len(drafts)} drafts applied: {'; '.join(failed)}")
    summary = f"added {len(applied)} of {len(drafts)} docstrings; every file parses"
    if failed:
        summary += f"; not applied: {'; '.join(failed)}"
    return FixOutcome(True, summary, sorted(set(applied)))


async def _apply_one(tree: Path, draft: FindingRecord, symbol: str) -> str | None:
    """Apply one draft in ``tree``; None when the symbol now has its docstring and the file
    parses, else why not (the file is left as it was)."""
    target = tree / draft.path
    if not target.is_file():
        return f"{draft.path} is gone at HEAD"
    original = target.read_bytes()
    before = find_definition(ast.parse(original), symbol)  # bytes: PEP 263 applies
    if before is not None and ast.get_docstring(before) is not None:
        return f"{symbol} already has a docstring at HEAD"
    problem = await git_apply(tree, draft.suggested_fix or "")
    if problem is not None:
        return f"the drafted docstring no longer applies at HEAD: {problem}"
    try:
        after = find_definition(ast.parse(target.read_bytes()), symbol)
    except SyntaxError as exc:
        target.write_bytes(original)
        return f"{draft.path} no longer parses after the docstring: {exc.msg}"
    if after is None or ast.get_docstring(after) is None:
        target.write_bytes(original)
        return f"{symbol} still has no docstring after applying the draft"
    return None
