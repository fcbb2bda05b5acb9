"""The critic: ruff's security, performance, print, bug-prone and complexity rules plus our N+1 rule,
run on the changed Python files as they are at the commit (never the working tree).

Configuration is the ``[critic]`` table (docs/critic.md). By default only findings on lines the
commit changed are kept; ``ctx.analyze_all`` (``--all``) keeps whole files.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from controlroom.agents.critic import claude, complexity
from controlroom.agents.critic.context import TestCodePolicy, Verdict, chain_at, judge, lowest
from controlroom.agents.critic.idioms import callee, default_calls, idiom_reason
from controlroom.agents.critic.ruff import (
    RuffDiagnostic,
    fix_text,
    ruff_arguments,
    run_ruff,
    selects,
    write_tree,
)
from controlroom.core.model import (
    AgentContext,
    AgentOutput,
    ChangeSet,
    FileChange,
    Finding,
    Severity,
    Task,
)
from controlroom.core.queue import FindingRecord
from controlroom.core.settings import table
from controlroom.core.toolkit.n_plus_one import DETECTOR as N_PLUS_ONE_DETECTOR
from controlroom.core.toolkit.n_plus_one import RULE as N_PLUS_ONE
from controlroom.core.toolkit.n_plus_one import could_match, find_n_plus_one
from controlroom.core.toolkit.regions import SourceRegions

if TYPE_CHECKING:
    from controlroom.core.apply import FixOutcome  # apply() returns one; made in the fix module

SYNTAX_RULE = "SYNTAX"
N_PLUS_ONE_FIX = (
    "Fetch what the loop needs before it (select_related/prefetch_related, one query with IN, "
    "or a batched request) instead of one call per iteration."
)

_SECURITY = re.compile(r"^S\d")


@dataclass(slots=True)
class CriticSettings:
    """The ``[critic]`` table; its defaults are ``data/defaults.toml``'s."""

    select: list[str]
    ignore: list[str]
    max_complexity: int
    changed_lines_only: bool
    confidence: float
    security_confidence: float
    n_plus_one: bool
    severity: dict[str, str]
    test_code: TestCodePolicy
    triage: bool = True  # with a key: the cheapest tier confirms or dismisses security findings
    triage_max: int = 20

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CriticSettings:
        """The given ``[critic]`` table over the packaged one."""
        values = table("critic", config)
        return cls(
            select=[str(r) for r in values["select"]],
            ignore=[str(r) for r in values["ignore"]],
            max_complexity=int(values["max_complexity"]),
            changed_lines_only=bool(values["changed_lines_only"]),
            confidence=float(values["confidence"]),
            security_confidence=float(values["security_confidence"]),
            n_plus_one=bool(values["n_plus_one"]),
            severity={str(k): str(v) for k, v in values["severity"].items()},
            test_code=TestCodePolicy.from_config(values["test_code"]),
            triage=bool(values["triage"]),
            triage_max=int(values["triage_max"]),
        )

    def severity_of(self, rule: str) -> Severity:
        """The configured severity of the longest selector taking ``rule`` (``S`` takes ``S105``,
        not ``SIM108``); medium when none does."""
        best = max((k for k in self.severity if selects(k, rule)), key=len, default=None)
        return Severity.parse(self.severity[best]) if best else Severity.MEDIUM

    def confidence_of(self, rule: str) -> float:
        return self.security_confidence if _SECURITY.match(rule) else self.confidence

    def ruff_rules(self) -> tuple[list[str], list[str]]:
        """(select, ignore) for ruff, without our own CR rules that ruff does not know."""
        return (
            [r for r in self.select if not r.startswith("CR")],
            [r for r in self.ignore if not r.startswith("CR")],
        )

    def wants_n_plus_one(self) -> bool:
        ignored = any(N_PLUS_ONE.startswith(r) for r in self.ignore)
        return self.n_plus_one and not ignored


class CriticAgent:
    """Static analysis of the changed Python files at the commit (agent name ``critic``)."""

    name: ClassVar[str] = "critic"

    async def apply_fix(
        self, task: Task, findings: list[FindingRecord], tree: Path, config: dict[str, Any]
    ) -> FixOutcome | None:
        """Carry out an approved task in the worktree ``tree``: ruff's safe fix for the rule, checked by ruff again."""
        from controlroom.agents.critic.fix import apply_ruff_fix

        return await apply_ruff_fix(task, findings, tree, config)

    async def analyze(self, change: ChangeSet, ctx: AgentContext) -> AgentOutput:
        settings = CriticSettings.from_config(ctx.config)
        files = change.python_files()
        whole = ctx.analyze_all or not settings.changed_lines_only
        notes = [f"skipped {f.path}: {f.skipped_reason}" for f in change.skipped() if f.is_python]
        metrics: dict[str, Any] = {
            "files": len(files),
            "lines": sum(f.new_text.count("\n") for f in files if f.new_text),
        }
        if not files:
            return AgentOutput(metrics=metrics, notes=notes)
        regions: dict[str, SourceRegions] = {}
        tmp = tempfile.mkdtemp(prefix="controlroom-critic-", dir=_scratch())
        try:
            root = Path(tmp).resolve()
            paths = await asyncio.to_thread(write_tree, root, files)
            select, ignore = settings.ruff_rules()
            ruff = (
                run_ruff(root, paths, ruff_arguments(select, ignore, settings.max_complexity))
                if select
                else _nothing()
            )
            loops = (
                asyncio.to_thread(_n_plus_one, files, regions)
                if settings.wants_n_plus_one()
                else _nothing()
            )
            diagnostics, loop_calls = await asyncio.gather(ruff, loops)
        finally:  # removing a whole tree's copy takes a while: never on the event loop
            await asyncio.shield(asyncio.to_thread(shutil.rmtree, tmp, True))
        findings = await asyncio.to_thread(
            _findings, files, diagnostics, loop_calls, regions, settings, whole
        )
        metrics["syntax_errors"] = sum(1 for f in findings if f.rule == SYNTAX_RULE)
        # With a key: Claude reviews the changed hunks, then the cheapest tier triages the
        # security findings (each step only while the agent's deadline allows; the offline
        # findings are kept either way).
        assistant = ctx.assistant("review") if not ctx.analyze_all else None
        triage = ctx.assistant("triage") if settings.triage else None
        if assistant is not None or triage is not None:
            claude.keep_offline(ctx, findings, metrics, notes)
        if assistant is not None:
            reviewed = await claude.review_hunks(assistant, change)
            metrics["llm_findings"] = len(reviewed)
            findings.extend(reviewed)
            claude.record_outcome(assistant, metrics, notes, "review")
        if triage is not None:
            metrics["triage"] = await claude.triage_security(
                triage, findings, change, settings.triage_max
            )
            claude.record_outcome(triage, metrics, notes, "triage")
        return AgentOutput(findings=findings, metrics=metrics, notes=notes)


def _scratch() -> str | None:
    """A memory-backed temporary folder when there is one (writing and removing many files there
    is several times faster than on disk), else the default."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


async def _nothing() -> list[Any]:
    return []


def _n_plus_one(
    files: list[FileChange], regions: dict[str, SourceRegions]
) -> list[tuple[str, int, str | None, str]]:
    """(path, line, symbol, call) for every CR001 hit; parses only files the prefilter lets in."""
    found = []
    for change in files:
        text = change.new_text or ""
        if not could_match(text):
            continue
        source = regions.setdefault(change.path, SourceRegions(text))
        for line, symbol, call in find_n_plus_one(text, change.path, source):
            found.append((change.path, line, symbol, call))
    return found


def _findings(
    files: list[FileChange],
    diagnostics: list[RuffDiagnostic],
    loop_calls: list[tuple[str, int, str | None, str]],
    regions: dict[str, SourceRegions],
    settings: CriticSettings,
    whole: bool,
) -> list[Finding]:
    by_path = {f.path: f for f in files}
    broken: dict[str, RuffDiagnostic] = {}
    for diag in diagnostics:
        if diag.is_syntax_error and diag.path in by_path:
            broken.setdefault(diag.path, diag)
    findings = [_syntax_finding(diag, by_path[path], settings) for path, diag in broken.items()]

    defaults = default_calls((d.path, d.code, d.message) for d in diagnostics)

    def keep(path: str, line: int, end_line: int) -> bool:
        if path not in by_path or path in broken:
            return False
        change = by_path[path]
        return whole or any(change.touches(n) for n in range(line, end_line + 1))

    def source(path: str) -> SourceRegions:
        if path not in regions:
            regions[path] = SourceRegions(by_path[path].new_text or "")
        return regions[path]

    def verdict(
        rule: str, path: str, symbol: str | None, line: int, column: int, message: str = ""
    ) -> Verdict:
        return judge(
            rule,
            path,
            symbol,
            settings.severity_of(rule),
            settings.confidence_of(rule),
            settings.test_code,
            lambda: chain_at(source(path), line, column),
            message,
        )

    for diag in diagnostics:
        if diag.is_syntax_error or not keep(diag.path, diag.line, diag.end_line):
            continue
        code = diag.code or SYNTAX_RULE
        symbol = source(diag.path).symbol_at(diag.line)
        if code == "C901" and not whole:
            change = by_path[diag.path]
            if not complexity.grew(change.old_text, change.new_text, symbol):
                continue  # as complex in the parent: long-standing, not this commit's doing
        ranked = verdict(code, diag.path, symbol, diag.line, diag.column, diag.message)
        if ranked.drop:
            continue
        if code == "B008":
            name = callee(diag.message)
            reason = idiom_reason(name, defaults[(diag.path, name or "")])
            if reason is not None:
                ranked = Verdict(
                    False, lowest(ranked.severity, Severity.LOW), ranked.confidence, reason
                )
        findings.append(
            Finding(
                agent=CriticAgent.name,
                rule=code,
                severity=ranked.severity,
                path=diag.path,
                line=diag.line,
                end_line=diag.end_line,
                message=_with_reason(diag.message, ranked),
                url=diag.url,
                symbol=symbol,
                snippet=_line_text(source(diag.path), diag.line),
                suggested_fix=fix_text(diag.fix),
                confidence=ranked.confidence,
                extra={"column": diag.column, "name": diag.name, "fix": diag.fix},
            )
        )
    for path, line, symbol, call in loop_calls:
        if not keep(path, line, line):
            continue
        ranked = verdict(N_PLUS_ONE, path, symbol, line, 1)
        if ranked.drop:
            continue
        message = f"possible N+1: {call} runs once per loop iteration"
        findings.append(
            Finding(
                agent=CriticAgent.name,
                rule=N_PLUS_ONE,
                severity=ranked.severity,
                path=path,
                line=line,
                end_line=line,
                message=_with_reason(message, ranked),
                symbol=symbol,
                snippet=_line_text(source(path), line),
                suggested_fix=N_PLUS_ONE_FIX,
                confidence=ranked.confidence,
                extra={"call": call},
                detector=N_PLUS_ONE_DETECTOR,
            )
        )
    findings.sort(key=lambda f: (f.path, f.line, f.rule))
    return findings


def _syntax_finding(diag: RuffDiagnostic, change: FileChange, settings: CriticSettings) -> Finding:
    """One finding for a file that does not parse (ranked lower in test code, where a file that
    does not parse is often a fixture of the parser's own tests)."""
    lines = (change.new_text or "").splitlines()
    snippet = lines[diag.line - 1].strip() if 0 < diag.line <= len(lines) else ""
    severity = settings.severity_of(SYNTAX_RULE)
    ranked = judge(SYNTAX_RULE, change.path, None, severity, 1.0, settings.test_code, lambda: None)
    return Finding(
        agent=CriticAgent.name,
        rule=SYNTAX_RULE,
        severity=ranked.severity,
        path=change.path,
        line=diag.line,
        end_line=diag.line,
        message=_with_reason(f"the file does not parse: {diag.message}", ranked),
        snippet=snippet,
        confidence=ranked.confidence,
        extra={"column": diag.column},
    )


def _with_reason(message: str, verdict: Verdict) -> str:
    return (
        f"{message} (ranked {verdict.severity.value}: {verdict.reason})"
        if verdict.reason
        else message
    )


def _line_text(source: SourceRegions, line: int) -> str:
    return source.lines[line - 1].strip() if 0 < line <= len(source.lines) else ""
