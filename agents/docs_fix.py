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
from controlroom.core.model import Task
from controlroom.core.queue import FindingRecord
from controlroom.core.secrets import child_env

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
    proc = await asyncio.create_subprocess_exec(
        "git",
        "apply",
        "--recount",
        "-",
        cwd=tree,
        env=child_env(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await proc.communicate(diff.encode("utf-8"))
    if proc.returncode == 0:
        return None
    lines = err.decode("utf-8", "replace").strip().splitlines()
    return lines[0] if lines else f"git apply exit {proc.returncode}"


async def apply_docstring(
    task: Task, findings: list[FindingRecord], tree: Path, config: dict[str, Any]
) -> FixOutcome | None:
    drafts = [f for f in findings if f.rule == "DOC100" and f.suggested_fix]
    if not drafts:
        return None  # an incomplete docstring (DOC102-105) is rewritten by a person
    draft = drafts[-1]
    target = tree / draft.path
    if not target.is_file():
        return FixOutcome(False, f"{draft.path} is gone at HEAD")
    symbol = draft.symbol or task.symbol or ""
    before = find_definition(ast.parse(target.read_text(encoding="utf-8")), symbol)
    if before is not None and ast.get_docstring(before) is not None:
        return FixOutcome(False, f"{symbol} already has a docstring at HEAD")
    problem = await git_apply(tree, draft.suggested_fix or "")
    if problem is not None:
        return FixOutcome(False, f"the drafted docstring no longer applies at HEAD: {problem}")
    text = target.read_text(encoding="utf-8")
    try:
        after = find_definition(ast.parse(text), symbol)
    except SyntaxError as exc:
        return FixOutcome(False, f"{draft.path} no longer parses after the docstring: {exc.msg}")
    if after is None or ast.get_docstring(after) is None:
        return FixOutcome(False, f"{symbol} still has no docstring after applying the draft")
    return FixOutcome(
        True, f"added the docstring of {symbol} in {draft.path}; the file parses", [draft.path]
    )
