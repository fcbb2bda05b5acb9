"""Carrying out an approved critic task with ruff's own safe fix for the rule, at HEAD.

ruff fixes every occurrence of the rule in that file (it has no "this line only" switch); the
file must still parse and the rule's count there must drop. Rules ruff cannot fix safely (most
security rules, a ``print`` removal, the N+1 pattern) are left to a person.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
from pathlib import Path
from typing import Any

from agents.critic_ruff import ruff_binary
from core.apply import FixOutcome
from core.model import Task
from core.queue import FindingRecord


async def _ruff(tree: Path, rule: str, path: str, *, fix: bool) -> tuple[int, bytes]:
    args = ["check", "--isolated", "--no-cache", "--exit-zero", "--output-format", "json"]
    args += ["--select", rule, *(["--fix"] if fix else []), "--", path]
    proc = await asyncio.create_subprocess_exec(
        ruff_binary(),
        *args,
        cwd=tree,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    out, _err = await proc.communicate()
    return proc.returncode or 0, out


async def _count(tree: Path, rule: str, path: str) -> int | None:
    """How often ruff reports ``rule`` in ``path``; None when ruff does not know the rule."""
    code, out = await _ruff(tree, rule, path, fix=False)
    return None if code != 0 else len(json.loads(out or b"[]"))


async def apply_ruff_fix(
    task: Task, findings: list[FindingRecord], tree: Path, config: dict[str, Any]
) -> FixOutcome | None:
    if not any(f.rule == task.rule for f in findings):
        return None
    target = tree / task.path
    if not target.is_file():
        return FixOutcome(False, f"{task.path} is gone at HEAD")
    before = await _count(tree, task.rule, task.path)
    if before is None:
        return None  # not a ruff rule (the critic's own N+1 check, a syntax error)
    if before == 0:
        return FixOutcome(False, f"ruff no longer reports {task.rule} in {task.path} at HEAD")
    original = target.read_bytes()
    await _ruff(tree, task.rule, task.path, fix=True)
    if target.read_bytes() == original:
        return None  # ruff has no safe fix for this rule: a person carries it out
    try:
        ast.parse(target.read_bytes())
    except SyntaxError as exc:
        return FixOutcome(False, f"{task.path} no longer parses after ruff's fix: {exc.msg}")
    after = await _count(tree, task.rule, task.path)
    if after is None or after >= before:
        return FixOutcome(
            False, f"ruff's fix left {task.rule} in {task.path} ({before} -> {after})"
        )
    summary = f"ruff fixed {task.rule} in {task.path} ({before} -> {after} there); the file parses"
    return FixOutcome(True, summary, [task.path])
