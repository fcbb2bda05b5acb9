"""Carrying out an approved critic task with ruff's own safe fix for the rule, at HEAD.

ruff fixes every occurrence of the rule in that file (it has no "this line only" switch); the
file must still parse and the rule's count there must drop. Rules ruff cannot fix safely (most
security rules, a ``print`` removal, the N+1 pattern) are left to a person.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from controlroom.agents.critic.ruff import ruff_arguments, run_ruff
from controlroom.core.apply import FixOutcome
from controlroom.core.model import Task
from controlroom.core.queue import FindingRecord


async def _count(tree: Path, path: str, arguments: list[str]) -> int | None:
    """How often ruff reports the selected rule in ``path``; None when ruff refuses the rule."""
    try:
        return len(await run_ruff(tree, [path], arguments))
    except RuntimeError:  # not a ruff rule: the critic's own N+1 check, a syntax error
        return None


async def apply_ruff_fix(
    task: Task, findings: list[FindingRecord], tree: Path, config: dict[str, Any]
) -> FixOutcome | None:
    from controlroom.agents.critic.agent import CriticSettings

    if not any(f.rule == task.rule for f in findings):
        return None
    target = tree / task.path
    if not target.is_file():
        return FixOutcome(False, f"{task.path} is gone at HEAD")
    check = ruff_arguments([task.rule], [], CriticSettings.from_config(config).max_complexity)
    before = await _count(tree, task.path, check)
    if before is None:
        return None
    if before == 0:
        return FixOutcome(False, f"ruff no longer reports {task.rule} in {task.path} at HEAD")
    original = target.read_bytes()
    after = await _count(tree, task.path, [*check, "--fix"])  # what is left after fixing
    if target.read_bytes() == original:
        return None  # ruff has no safe fix for this rule: a person carries it out
    try:
        ast.parse(target.read_bytes())
    except SyntaxError as exc:
        return FixOutcome(False, f"{task.path} no longer parses after ruff's fix: {exc.msg}")
    if after is None or after >= before:
        return FixOutcome(
            False, f"ruff's fix left {task.rule} in {task.path} ({before} -> {after})"
        )
    summary = f"ruff fixed {task.rule} in {task.path} ({before} -> {after} there); the file parses"
    return FixOutcome(True, summary, [task.path])
