"""Small real agents and change sets for spine tests (agents are plug-ins; these are test plug-ins)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from controlroom.core.config import load_config
from controlroom.core.model import (
    AgentContext,
    AgentOutput,
    ChangeSet,
    FileChange,
    FileStatus,
    Finding,
    LineRange,
    Severity,
)
from controlroom.core.workspace import Workspace


class ScriptedAgent:
    """Reports one finding per line of each Python file that contains ``needle``."""

    def __init__(self, name: str, needle: str, rule: str, severity=Severity.HIGH, confidence=0.6):
        self.name = name
        self.needle = needle
        self.rule = rule
        self.severity = severity
        self.confidence = confidence

    async def analyze(self, change: ChangeSet, ctx: AgentContext) -> AgentOutput:
        findings = []
        for file in change.python_files():
            for number, text in enumerate(file.new_text.splitlines(), start=1):
                if self.needle in text and (ctx.analyze_all or file.touches(number)):
                    findings.append(
                        Finding(
                            agent=self.name,
                            rule=self.rule,
                            severity=self.severity,
                            path=file.path,
                            line=number,
                            message=f"{self.needle} found",
                            symbol="main",
                            snippet=text,
                            confidence=self.confidence,
                        )
                    )
        return AgentOutput(findings=findings, metrics={"lines": 1})


class BrokenAgent:
    name = "broken"

    async def analyze(self, change, ctx):
        raise ValueError("kaput")


class SlowAgent:
    name = "slow"

    async def analyze(self, change, ctx):
        await asyncio.Event().wait()  # never finishes: only the timeout ends it


def change_of(
    sha: str, files: dict[str, str | None], *, changed: dict[str, list[int]] | None = None
):
    """A ChangeSet where each file is modified (None: deleted); changed lines default to all."""
    out = []
    for path, text in files.items():
        if text is None:
            out.append(FileChange(path, FileStatus.DELETED, old_text="x\n"))
            continue
        lines = (changed or {}).get(path)
        count = len(text.splitlines())
        ranges = (
            tuple(LineRange(n, n) for n in lines)
            if lines is not None
            else (LineRange(1, max(count, 1)),)
        )
        out.append(FileChange(path, FileStatus.MODIFIED, new_text=text, changed_lines=ranges))
    return ChangeSet(
        repo_path=Path("."),
        commit=sha,
        parent=None,
        subject=f"commit {sha}",
        author="t",
        committed_at=0.0,
        files=tuple(out),
    )


def workspace_for(tmp_path: Path, **overrides) -> Workspace:
    config = load_config(None).with_overrides(overrides)
    return Workspace(tmp_path, config, tmp_path / "state.db")


def context_factory(workspace: Workspace, analyze_all: bool = False):
    def make(agent, change):
        return AgentContext(repo_path=workspace.repo_path, config={}, analyze_all=analyze_all)

    return make
