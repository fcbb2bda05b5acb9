"""Which of the modules to ghostwrite import at all: one sandboxed child imports them in turn.

A ghostwriter child per module is costly (a sandbox, an interpreter, the module's imports). On a
release commit whose environment lacks a dependency, every one of them would only learn that the
import fails. One probe learns it for all modules at once; the ghostwriter then starts only for the
modules that import (a 438-file Django release in an environment without ``asgiref``: 102 children,
20 s, become one probe).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from controlroom.agents.testgen.sandbox import Limits, run_sandboxed
from controlroom.agents.testgen.static import FunctionInfo
from controlroom.agents.testgen.write import GeneratedTest, python_path

# Runs in the sandbox with the worktree's import roots on sys.path; writes one JSON object to fd 3:
# module -> null (imported), {"missing": name} (ModuleNotFoundError) or {"error": "Type: text"}.
_PROBE = """
import importlib, json, os, sys
found = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        found[name] = None
    except BaseException as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            found[name] = {"missing": exc.name}
        else:
            found[name] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
os.write(3, json.dumps(found).encode())
"""


@dataclass(frozen=True, slots=True)
class ImportFailure:
    """Why a module does not import: a module the environment lacks, or another error."""

    missing: str | None
    error: str

    def reason(self, module: str) -> str:
        return f"importing {module} failed: {self.error}"


async def import_failures(
    worktree: Path, box: Path, modules: list[str], roots: list[str], limits: Limits
) -> dict[str, ImportFailure] | None:
    """The modules of ``modules`` that do not import in the sandbox, with why; None when the probe
    gave no readable answer (then every module gets its ghostwriter child, as without a probe)."""
    if not modules:
        return {}
    result = await run_sandboxed(
        box,
        mode="exec",
        writable=[worktree],
        limits=limits,
        python_path=roots,
        cwd=worktree,
        argv=[limits.interpreter, "-c", _PROBE, *modules],
    )
    try:  # the repository's code ran in that process: its answer is untrusted text
        answer = json.loads(result.report) if result.report else None
    except ValueError:
        return None
    if result.timed_out or not isinstance(answer, dict):
        return None
    failures: dict[str, ImportFailure] = {}
    for module in modules:
        item = answer.get(module)
        if not isinstance(item, dict):
            continue
        missing = item.get("missing")
        if isinstance(missing, str) and missing:
            failures[module] = ImportFailure(missing, f"ModuleNotFoundError: no module {missing!r}")
        else:
            failures[module] = ImportFailure(None, str(item.get("error", "unknown error"))[:240])
    return failures


async def without_import_failures(
    worktree: Path, workdir: Path, wanted: list[FunctionInfo], limits: Limits
) -> tuple[list[GeneratedTest], list[FunctionInfo]]:
    """(no test for each function whose module does not import, and why; the functions left for
    the ghostwriter), from one sandboxed import probe of every module."""
    modules = sorted({f.module for f in wanted})
    failures = await import_failures(
        worktree, workdir / "imports", modules, python_path(worktree, wanted), limits
    )
    if not failures:
        return [], wanted
    failed = [
        GeneratedTest(f, None, None, failure.reason(f.module), [], failure.missing)
        for f in wanted
        if (failure := failures.get(f.module)) is not None
    ]
    return failed, [f for f in wanted if f.module not in failures]


__all__ = ["ImportFailure", "import_failures", "without_import_failures"]
