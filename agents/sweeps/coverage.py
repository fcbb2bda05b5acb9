"""``coverage_sweep``: public functions no test exercises, repository-wide.

With a ``.coverage`` data file at the repository root (coverage.py), a function is untested when
none of its body lines ran; without one, when no test file mentions its name.
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any, ClassVar

from controlroom.agents.sweeps.common import (
    Definition,
    definitions,
    finding,
    is_test_path,
    parse,
    python_files_at,
)
from controlroom.core.blobs import max_file_bytes
from controlroom.core.model import AgentContext, AgentOutput, ChangeSet, Finding, Severity
from controlroom.core.settings import table


def names_in_tests(files: dict[str, str]) -> set[str]:
    """Every identifier and attribute name used in test files."""
    names: set[str] = set()
    for path, text in files.items():
        if not is_test_path(path):
            continue
        tree = parse(text)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name.split(".")[-1])
    return names


def executed_lines(repo: Path) -> dict[str, set[int]] | None:
    """Lines coverage.py recorded as run, by repository-relative path; None without data."""
    data_file = repo / ".coverage"
    if not data_file.is_file():
        return None
    from coverage import CoverageData

    data = CoverageData(basename=str(data_file))
    data.read()
    found: dict[str, set[int]] = {}
    for measured in data.measured_files():
        try:
            relative = Path(measured).resolve().relative_to(repo.resolve()).as_posix()
        except ValueError:
            continue
        found[relative] = set(data.lines(measured) or ())
    return found


class CoverageSweep:
    name: ClassVar[str] = "coverage_sweep"

    async def analyze(self, change: ChangeSet, ctx: AgentContext) -> AgentOutput:
        limit = int(table("hobbies", ctx.config)["max_findings"])
        return await asyncio.to_thread(self._sweep, change, limit, max_file_bytes(ctx.settings))

    def _sweep(self, change: ChangeSet, limit: int, max_bytes: int | None) -> AgentOutput:
        files = python_files_at(change.repo_path, change.commit, max_bytes)
        lines = executed_lines(change.repo_path)
        mentioned = names_in_tests(files) if lines is None else set()
        untested: list[tuple[int, Finding]] = []
        total = 0
        for path, text in sorted(files.items()):
            if is_test_path(path):
                continue
            tree = parse(text)
            if tree is None:
                continue
            for item in definitions(tree):
                if not item.public or item.is_class:
                    continue
                total += 1
                if self._tested(item, path, lines, mentioned):
                    continue
                how = "no recorded coverage" if lines is not None else "no test mentions it"
                untested.append(
                    (
                        item.length,
                        finding(
                            self.name, "COV100",
                            Severity.MEDIUM if item.length >= 20 else Severity.LOW,
                            path, item.line,
                            f"public function {item.qualname} looks untested ({how})",
                            text=text, symbol=item.qualname,
                            confidence=0.55 if lines is None else 0.75,
                            suggested_fix=f"add a test that calls {item.qualname}",
                            extra={"length": item.length, "evidence": how},
                        ),
                    )
                )  # fmt: skip
        untested.sort(key=lambda pair: (-pair[0], pair[1].path, pair[1].line))
        tested_pct = 100.0 * (total - len(untested)) / total if total else 100.0
        metrics: dict[str, Any] = {
            "tested_functions_pct": round(tested_pct, 1),
            "public_functions": total,
            "untested": len(untested),
            "evidence": "coverage data" if lines is not None else "test name references",
        }
        notes = [f"{len(untested)} of {total} public functions look untested"]
        return AgentOutput([f for _n, f in untested[:limit]], metrics, notes)

    @staticmethod
    def _tested(
        item: Definition, path: str, lines: dict[str, set[int]] | None, mentioned: set[str]
    ) -> bool:
        if lines is None:
            return item.node.name in mentioned
        ran = lines.get(path, set())
        body = range(item.node.body[0].lineno, (item.node.end_lineno or item.line) + 1)
        return any(line in ran for line in body)
