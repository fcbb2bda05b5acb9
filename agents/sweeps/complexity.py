"""``complexity_sweep``: the most complex functions (radon cyclomatic complexity) and the least
maintainable files (radon maintainability index), repository-wide."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from radon.complexity import cc_rank, cc_visit
from radon.metrics import mi_rank, mi_visit

from controlroom.agents.sweeps.common import finding, is_test_path, python_files_at
from controlroom.core.blobs import max_file_bytes
from controlroom.core.model import AgentContext, AgentOutput, ChangeSet, Finding, Severity
from controlroom.core.settings import table


class ComplexitySweep:
    name: ClassVar[str] = "complexity_sweep"

    async def analyze(self, change: ChangeSet, ctx: AgentContext) -> AgentOutput:
        options: dict[str, Any] = {
            "limit": int(table("hobbies", ctx.config)["max_findings"]),
            "threshold": int(table("hobbies", ctx.config)["complexity_threshold"]),
            "mi_threshold": float(table("hobbies", ctx.config)["maintainability_threshold"]),
            "max_bytes": max_file_bytes(ctx.settings),
        }
        return await asyncio.to_thread(self._sweep, change, **options)

    def _sweep(
        self,
        change: ChangeSet,
        *,
        limit: int,
        threshold: int,
        mi_threshold: float,
        max_bytes: int | None,
    ) -> AgentOutput:
        files = python_files_at(change.repo_path, change.commit, max_bytes)
        ranked: list[tuple[float, Finding]] = []
        complexities: list[int] = []
        mi_values: list[float] = []
        for path, text in sorted(files.items()):
            if is_test_path(path):
                continue
            try:
                blocks = cc_visit(text)
                mi = float(mi_visit(text, multi=True))
            except (SyntaxError, ValueError):
                continue
            mi_values.append(mi)
            for block in blocks:
                if type(block).__name__ == "Class":
                    continue  # a class's figure sums its methods: report the methods
                complexities.append(block.complexity)
                if block.complexity <= threshold:
                    continue
                severity = Severity.MEDIUM if block.complexity > 2 * threshold else Severity.LOW
                ranked.append(
                    (
                        block.complexity,
                        finding(
                            self.name, "CC100", severity, path, block.lineno,
                            f"{block.fullname} has cyclomatic complexity {block.complexity} "
                            f"(rank {cc_rank(block.complexity)}, threshold {threshold})",
                            text=text, symbol=block.fullname,
                            confidence=min(0.9, 0.5 + block.complexity / (10 * threshold)),
                            suggested_fix="split it into smaller functions with one job each",
                            extra={"complexity": block.complexity},
                        ),
                    )
                )  # fmt: skip
            if mi < mi_threshold:
                ranked.append(
                    (
                        threshold + (mi_threshold - mi),
                        finding(
                            self.name, "MI100", Severity.LOW, path, 1,
                            f"{path} has maintainability index {mi:.1f} (rank {mi_rank(mi)}, "
                            f"threshold {mi_threshold:g})",
                            text=text, symbol=None, confidence=0.5,
                            suggested_fix="split the module and simplify its largest functions",
                            extra={"maintainability_index": round(mi, 1)},
                        ),
                    )
                )  # fmt: skip
        ranked.sort(key=lambda pair: (-pair[0], pair[1].path, pair[1].line))
        metrics: dict[str, Any] = {
            "functions": len(complexities),
            "over_threshold": sum(1 for c in complexities if c > threshold),
            "max_complexity": max(complexities, default=0),
            "mean_complexity": round(sum(complexities) / len(complexities), 2)
            if complexities
            else 0.0,
            "mean_maintainability": round(sum(mi_values) / len(mi_values), 1)
            if mi_values
            else 100.0,
        }
        notes = [f"{metrics['over_threshold']} functions above complexity {threshold}"]
        return AgentOutput([f for _n, f in ranked[:limit]], metrics, notes)
