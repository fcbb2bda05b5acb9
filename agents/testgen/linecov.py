"""Changed-line coverage of an offered test: which of its function's changed statements it runs.

The offered test runs once more in the sandbox, with the project's interpreter, under coverage.py
(``coverage.Coverage(data_file=None)``: nothing is written to disk) and pytest started in the same
process; the executed lines of the function's module come back over the result pipe as JSON. When
the project's environment has no coverage.py, the figure says so instead (``status`` "unavailable").
The figure describes the test; it never decides whether the test is offered (the test's own process
reports it).

A statement counts as changed when a line of it (a compound statement: its header) is among the
commit's changed lines; the ``def`` line and the docstring are not statements of the body.
"""

from __future__ import annotations

import ast
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from controlroom.agents.testgen.mutants import find_function
from controlroom.agents.testgen.report import test_file_name
from controlroom.agents.testgen.run import Validation, prepare_box
from controlroom.agents.testgen.sandbox import RESULT_PATH, Limits, run_sandboxed
from controlroom.agents.testgen.static import FunctionInfo
from controlroom.agents.testgen.strength import Strength
from controlroom.agents.testgen.write import GeneratedTest, python_path
from controlroom.core.model import ChangeSet, FileChange

# Runs inside the sandbox (argv: a JSON list of module path suffixes, then pytest's arguments):
# standard library and the environment's own coverage and pytest only. Each line's contexts name the
# test functions that ran it ("test_module.test_name").
COVERAGE_RUN = f"""\
import json, sys
out = open({RESULT_PATH!r}, "w")
try:
    import coverage
except ImportError:
    out.write(json.dumps({{"missing": "coverage"}}))
    out.close()
    raise SystemExit(0)
suffixes = json.loads(sys.argv[1])
cov = coverage.Coverage(data_file=None, include=["*/" + s for s in suffixes], config_file=False)
cov.set_option("run:dynamic_context", "test_function")
cov.start()
import pytest
code = pytest.main(sys.argv[2:])
cov.stop()
data = cov.get_data()
files = {{}}
for name in data.measured_files():
    for suffix in suffixes:
        if name.endswith("/" + suffix):
            by_line = data.contexts_by_lineno(name)
            files[suffix] = {{str(k): sorted(v) for k, v in by_line.items()}}
out.write(json.dumps({{"exit": int(code), "files": files, "version": coverage.__version__}}))
out.close()
"""


@dataclass(slots=True)
class ChangedLineCoverage:
    status: str  # measured | unavailable | failed
    changed: list[int] = field(default_factory=list)  # the function's changed statement lines
    covered: list[int] = field(default_factory=list)  # of those, the ones the test ran
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        pct = round(100.0 * len(self.covered) / len(self.changed), 1) if self.changed else None
        return {
            "status": self.status,
            "changed_statements": len(self.changed),
            "covered": len(self.covered),
            "pct": pct if self.status == "measured" else None,
            "missed_lines": [n for n in self.changed if n not in self.covered],
            "note": self.note,
        }

    def summary(self) -> str:
        if self.status != "measured":
            return f"changed-line coverage not measured: {self.note}"
        return f"it runs {len(self.covered)} of {len(self.changed)} changed statements"


def changed_statements(function: FunctionInfo, change: FileChange | None) -> list[int]:
    """First lines of the function's body statements a line of which the commit changed."""
    if change is None or not change.new_text:
        return []
    try:
        tree = ast.parse(change.new_text)
    except SyntaxError:
        return []
    node = find_function(tree, function.qualname)
    if node is None:
        return []
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    touched = set()
    for stmt in (sub for top in body for sub in ast.walk(top) if isinstance(sub, ast.stmt)):
        inner = getattr(stmt, "body", None)
        last = inner[0].lineno - 1 if inner else stmt.end_lineno or stmt.lineno
        if any(change.touches(n) for n in range(stmt.lineno, max(stmt.lineno, last) + 1)):
            touched.add(stmt.lineno)
    return sorted(touched)


def executed_first_lines(source: str, executed: set[int]) -> set[int]:
    """Executed lines mapped to their statements' first lines, as coverage.py reports them."""
    try:
        from coverage.parser import PythonParser

        parser = PythonParser(text=source)
        parser.parse_source()
        return set(parser.first_lines(executed))
    except Exception:
        return executed


@dataclass(frozen=True, slots=True)
class Offered:
    """One offered test to measure: its function, the commit's change of its file, its code."""

    key: str
    function: FunctionInfo
    change: FileChange | None
    code: str
    test_name: str  # unique in the run: test_*.py
    python_path: tuple[str, ...]


async def measure_many(
    worktree: Path, box: Path, offered: list[Offered], limits: Limits, max_examples: int
) -> dict[str, ChangedLineCoverage]:
    """Run every offered test in one pytest process under coverage.py in the sandbox, and say per
    test which changed statements of its function it ran; never raises for a bad run."""
    results: dict[str, ChangedLineCoverage] = {}
    todo = []
    for item in offered:
        changed = changed_statements(item.function, item.change)
        if changed:
            todo.append((item, changed))
        else:
            results[item.key] = ChangedLineCoverage("measured", note="no changed statement")
    if not todo:
        return results
    prepare_box(box, max_examples)
    paths = []
    for item, _ in todo:
        (box / item.test_name).write_text(item.code, encoding="utf-8")
        paths.append(str(box / item.test_name))
    suffixes = sorted({item.function.path for item, _ in todo})
    argv = [limits.interpreter, "-c", COVERAGE_RUN, json.dumps(suffixes), "-q", "-p",
            "no:cacheprovider", "-c", str(box / "pytest.ini"), "--rootdir", str(box),
            "--confcutdir", str(box), *paths]  # fmt: skip
    python_path = list(dict.fromkeys(p for item, _ in todo for p in item.python_path))
    result = await run_sandboxed(
        box,
        mode="exec",
        writable=[worktree],
        limits=limits,
        python_path=python_path,
        cwd=worktree,
        argv=argv,
    )
    try:
        data = json.loads(result.report)
    except ValueError:
        data = None
    for item, changed in todo:
        results[item.key] = _one(item, changed, data, result, limits)
    return results


def _one(
    item: Offered, changed: list[int], data: dict | None, result: Any, limits: Limits
) -> ChangedLineCoverage:
    if data is None:
        status = "timed out" if result.timed_out else f"exit status {result.returncode}"
        return ChangedLineCoverage(
            "failed", changed, note=f"the coverage run gave no data ({status})"
        )
    if data.get("missing"):
        note = f"coverage is not installed in the environment at {limits.interpreter}"
        return ChangedLineCoverage("unavailable", changed, note=note)
    stem = item.test_name.removesuffix(".py") + "."
    by_line = data.get("files", {}).get(item.function.path, {})
    mine = {int(n) for n, contexts in by_line.items() if any(c.startswith(stem) for c in contexts)}
    ran = executed_first_lines((item.change.new_text if item.change else "") or "", mine)
    version = data.get("version")
    covered = [n for n in changed if n in ran]
    return ChangedLineCoverage("measured", changed, covered, note=f"coverage {version}")


async def measure_offered(
    change: ChangeSet,
    worktree: Path,
    workdir: Path,
    results: dict[str, tuple[GeneratedTest, Validation | None]],
    strengths: dict[str, Strength],
    limits: Limits,
    config: dict[str, Any],
    deadline: float,
) -> dict[str, ChangedLineCoverage]:
    """The changed lines each offered test (passed, killed a mutant) runs: one sandboxed run."""
    files = {f.path: f for f in change.files}
    offered = [
        Offered(
            test.function.dotted,
            test.function,
            files.get(test.function.path),
            test.code or "",
            test_file_name(test.function, index),
            tuple(python_path(worktree, [test.function])),
        )
        for index, (test, _validation) in enumerate(results.values())
        if test.code
        and (strength := strengths.get(test.function.dotted)) is not None
        and strength.killed is not None
    ]
    remaining = deadline - time.perf_counter()
    if not offered:
        return {}
    if remaining < 2.0:
        late = ChangedLineCoverage("failed", note="not measured: the agent's time budget ran out")
        return {item.key: late for item in offered}
    run_limits = replace(limits, timeout=min(limits.timeout, remaining))
    box = workdir / "coverage"
    return await measure_many(worktree, box, offered, run_limits, int(config["max_examples"]))
