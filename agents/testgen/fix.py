"""Carrying out an approved TEST001 task: add its generated test to ``tests/`` at HEAD.

The test is run again exactly as when it was offered (pytest in the sandbox, in the worktree of
HEAD, with the ``[tests]`` limits); only a passing test is committed.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from controlroom.agents.testgen.env import find_environment, own_environment
from controlroom.agents.testgen.run import PASSED, validate
from controlroom.agents.testgen.sandbox import Limits
from controlroom.core.apply import FixOutcome
from controlroom.core.model import Task
from controlroom.core.queue import FindingRecord
from controlroom.core.settings import table

BOX = ".controlroom-apply"


def import_root(path: str, module: str) -> str:
    """The folder ``module`` is imported from: ``src/pkg/mod.py`` + ``pkg.mod`` -> ``src``."""
    parts = PurePosixPath(path).with_suffix("").parts
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    depth = len(module.split("."))
    return "/".join(parts[: len(parts) - depth]) if len(parts) >= depth else ""


def free_name(tree: Path, wanted: str) -> str:
    """``wanted``, or ``name_2.py``, ``name_3.py``... when a file of that name exists at HEAD."""
    candidate, n = PurePosixPath(wanted), 1
    while (tree / candidate).exists():
        n += 1
        candidate = PurePosixPath(wanted).with_name(f"{PurePosixPath(wanted).stem}_{n}.py")
    return str(candidate)


async def apply_generated_test(
    task: Task, findings: list[FindingRecord], tree: Path, config: dict[str, Any]
) -> FixOutcome | None:
    """Add the task's offered test, or every offered test of a grouped task, each run again at
    HEAD in the sandbox; only passing tests are written (the outcome names the others)."""
    offered: dict[tuple[str, str], FindingRecord] = {}
    for f in findings:  # the latest offer per function
        if f.rule == "TEST001" and f.extra.get("test_code") and not f.extra.get("not_offered"):
            offered[(f.path, f.symbol or task.symbol or "")] = f
    if not offered:
        return None  # nothing offered (a possible bug, or too weak): a person writes this test
    written: dict[str, str] = {}
    outputs: list[str] = []
    failed: list[tuple[str, str]] = []  # (function, why its test fails at HEAD)
    where, seconds = "the sandbox", 0.0
    for (path, symbol), finding in sorted(offered.items()):
        target, code, result = await _run_offered(task, finding, tree, config)
        outputs.append(result.output)
        seconds += result.duration_s
        if result.status != PASSED:
            failed.append((f"{path}:{finding.line} {symbol}", result.message or result.status))
            continue
        (tree / target).parent.mkdir(parents=True, exist_ok=True)
        (tree / target).write_text(code, encoding="utf-8")
        written[target] = code
        if result.confinement.startswith("weak"):
            where = "a weak sandbox"
    output = "\n".join(o for o in outputs if o)
    if not written:
        if len(offered) == 1:
            why = failed[0][1]
            return FixOutcome(
                False, f"the generated test no longer passes at HEAD: {why}", [], output
            )
        listed = "; ".join(f"{where_}: {why}" for where_, why in failed)
        return FixOutcome(
            False, f"none of the {len(offered)} tests passes at HEAD: {listed}", [], output
        )
    names = ", ".join(sorted(written))
    summary = (
        f"added {names}; it passes at HEAD in {where} ({seconds:.1f} s)"
        if len(offered) == 1
        else f"added {len(written)} of {len(offered)} tests ({names}); each passes at HEAD in "
        f"{where} ({seconds:.1f} s)"
    )
    if failed:
        summary += "; not added (failing at HEAD): " + "; ".join(f"{w}: {y}" for w, y in failed)
    return FixOutcome(True, summary, sorted(written), output, contents=written)


async def _run_offered(
    task: Task, finding: FindingRecord, tree: Path, config: dict[str, Any]
) -> tuple[str, str, Any]:
    """(where the test goes, its code, its run at HEAD in the sandbox)."""
    code = str(finding.extra["test_code"])
    module = str(finding.extra.get("module") or "")
    root = import_root(finding.path, module) if module else ""
    python_path = list(dict.fromkeys([str(tree / root) if root else str(tree), str(tree)]))
    # A test written earlier in this apply exists by now: free_name picks the next name.
    target = free_name(tree, str(finding.extra.get("test_path") or f"tests/test_task_{task.id}.py"))
    limits = Limits.from_config(config)
    repository = _repository(finding)
    env = own_environment()
    if repository is not None or config.get("python"):
        env, _notes = await asyncio.to_thread(find_environment, repository, config)
    if not env.own:
        limits = replace(limits, python=env.python, python_dirs=env.prefixes)
    result = await validate(
        tree,
        tree / BOX,
        code,
        PurePosixPath(target).name,
        python_path,
        limits,
        int(table("tests", config)["max_examples"]),
    )
    return target, code, result


def _repository(finding: FindingRecord) -> Path | None:
    """The repository whose ``.venv``/``venv`` the finding's test ran with (its ``environment``,
    written by this agent), looked at afresh; never found by running git in the scratch tree,
    whose ``.git`` file the repository's code may have rewritten."""
    env = finding.extra.get("environment") or {}
    source, python = str(env.get("source") or ""), str(env.get("python") or "")
    if source.startswith("repository ") and python.endswith("/bin/python"):
        return Path(python).parent.parent.parent
    return None
