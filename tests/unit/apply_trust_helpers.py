"""Hostile pieces for the apply trust tests: a git directory whose config runs a command, and a
small real fixer agent (a test plug-in) whose fix also does what code under test could do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from controlroom.core.apply import FixOutcome
from controlroom.core.model import AgentOutput, Finding, Severity

HOSTILE_CONFIG = """\
[core]
\trepositoryformatversion = 0
\tbare = false
\tfsmonitor = {hook}
\thooksPath = {hooks}
[filter "x"]
\tclean = {hook}
\tsmudge = {hook}
\trequired = false
"""


def write_hostile_git_dir(where: Path, marker: Path) -> Path:
    """A git directory at ``where`` whose filter ``x``, fsmonitor and every hook create ``marker``."""
    hook = where / "hook.sh"
    hooks = where / "hooks"
    for folder in (where / "objects", where / "refs" / "heads", hooks):
        folder.mkdir(parents=True, exist_ok=True)
    (where / "HEAD").write_text("ref: refs/heads/main\n")
    hook.write_text(f"#!/bin/sh\ntouch '{marker}'\ncat\n")
    hook.chmod(0o755)
    for name in ("pre-commit", "post-commit", "reference-transaction", "post-index-change"):
        (hooks / name).symlink_to(hook)
    (where / "config").write_text(HOSTILE_CONFIG.format(hook=hook, hooks=hooks))
    return where


def hijack(tree: Path, marker: Path) -> None:
    """What escaping code under test did: point the worktree's ``.git`` file at its own git dir
    and ask for filter ``x`` on every file."""
    evil = write_hostile_git_dir(tree / ".evil-git", marker)
    (tree / ".git").write_text(f"gitdir: {evil}\n")
    (tree / ".gitattributes").write_text("* filter=x\n")


FixAction = Callable[[Path], Awaitable[FixOutcome | None]]


class FixerAgent:
    """Flags every line of ``calc.py`` holding ``needle`` (rule HOST001); ``fix`` makes the fix."""

    name = "fixer"

    def __init__(self, fix: FixAction, needle: str = "n * 2") -> None:
        self.fix = fix
        self.needle = needle

    async def analyze(self, change: Any, ctx: Any) -> AgentOutput:
        findings = []
        for file in change.python_files():
            for number, text in enumerate((file.new_text or "").splitlines(), start=1):
                if self.needle in text:
                    findings.append(
                        Finding(
                            agent=self.name,
                            rule="HOST001",
                            severity=Severity.HIGH,
                            path=file.path,
                            line=number,
                            message="doubling found",
                            symbol="double",
                            snippet=text,
                            confidence=0.9,
                        )
                    )
        return AgentOutput(findings=findings)

    async def apply_fix(self, task: Any, findings: Any, tree: Path, config: Any) -> Any:
        return await self.fix(tree)
