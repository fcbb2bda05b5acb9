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
    offered = [
        f
        for f in findings
        if f.rule == "TEST001" and f.extra.get("test_code") and not f.extra.get("not_offered")
    ]
    if not offered:
        return None  # nothing offered (a possible bug, or too weak): a person writes this test
    finding = offered[-1]
    code = str(finding.extra["test_code"])
    module = str(finding.extra.get("module") or "")
    root = import_root(finding.path, module) if module else ""
    python_path = list(dict.fromkeys([str(tree / root) if root else str(tree), str(tree)]))
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
    if result.status != PASSED:
        why = result.message or result.status
        return FixOutcome(
            False, f"the generated test no longer passes at HEAD: {why}", [], result.output
        )
    (tree / target).parent.mkdir(parents=True, exist_ok=True)
    (tree / target).write_text(code, encoding="utf-8")
    where = "a weak sandbox" if result.confinement.startswith("weak") else "the sandbox"
    summary = f"added {target}; it passes at HEAD in {where} ({result.duration_s:.1f} s)"
    return FixOutcome(True, summary, [target], result.output, contents={target: code})


def _repository(finding: FindingRecord) -> Path | None:
    """The repository whose ``.venv``/``venv`` the finding's test ran with (its ``environment``,
    written by this agent), looked at afresh; never found by running git in the scratch tree,
    whose ``.git`` file the repository's code may have rewritten."""
    env = finding.extra.get("environment") or {}
    source, python = str(env.get("source") or ""), str(env.get("python") or "")
    if source.startswith("repository ") and python.endswith("/bin/python"):
        return Path(python).parent.parent.parent
    return None
