"""``doc_sweep``: docstring coverage of public functions, classes and methods, repository-wide."""

from __future__ import annotations

import ast
import asyncio
from typing import Any, ClassVar

from controlroom.agents.sweeps.common import (
    definitions,
    finding,
    is_test_path,
    parse,
    python_files_at,
)
from controlroom.core.blobs import max_file_bytes
from controlroom.core.model import AgentContext, AgentOutput, ChangeSet, Finding, Severity
from controlroom.core.settings import table


class DocSweep:
    name: ClassVar[str] = "doc_sweep"

    async def analyze(self, change: ChangeSet, ctx: AgentContext) -> AgentOutput:
        limit = int(table("hobbies", ctx.config)["max_findings"])
        return await asyncio.to_thread(self._sweep, change, limit, max_file_bytes(ctx.settings))

    def _sweep(self, change: ChangeSet, limit: int, max_bytes: int | None) -> AgentOutput:
        files = python_files_at(change.repo_path, change.commit, max_bytes)
        missing: list[tuple[int, Finding]] = []
        public = documented = 0
        for path, text in sorted(files.items()):
            tree = parse(text)
            if tree is None or is_test_path(path):
                continue
            for item in definitions(tree):
                if not item.public:
                    continue
                public += 1
                if ast.get_docstring(item.node) is not None:
                    documented += 1
                    continue
                kind = "class" if item.is_class else "function"
                missing.append(
                    (
                        item.length,
                        finding(
                            self.name, "DOC100", Severity.LOW, path, item.line,
                            f"public {kind} {item.qualname} has no docstring",
                            text=text, symbol=item.qualname, confidence=0.6,
                            suggested_fix=f"add a docstring saying what {item.qualname} does",
                            extra={"length": item.length},
                        ),
                    )
                )  # fmt: skip
        missing.sort(key=lambda pair: (-pair[0], pair[1].path, pair[1].line))
        coverage = 100.0 * documented / public if public else 100.0
        metrics: dict[str, Any] = {
            "doc_coverage": round(coverage, 1),
            "public_definitions": public,
            "undocumented": public - documented,
            "files": len(files),
        }
        notes = [f"docstring coverage {coverage:.1f}% of {public} public definitions"]
        return AgentOutput([f for _n, f in missing[:limit]], metrics, notes)
