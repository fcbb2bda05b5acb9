"""Line data from a coverage.py data file (``.coverage`` at the repository root), when there is one.

The data file records the files as they were measured (usually the working tree); a file is matched
by its path relative to the repository, or by path suffix when the data came from another checkout.
A function counts as tested when any statement of its body ran; a module's figure is the share of
its statements (coverage.py's own parser) that ran.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import coverage
from coverage.exceptions import CoverageException
from coverage.parser import PythonParser


@dataclass(slots=True)
class LineCoverage:
    """Executed lines per measured file, keyed by absolute path as recorded."""

    source: Path
    executed: dict[str, set[int]]

    def lines_for(self, repo_root: Path, path: str) -> set[int] | None:
        """Executed lines of ``path`` (relative to the repository), None when it was not measured."""
        exact = str((repo_root / path).resolve())
        if exact in self.executed:
            return self.executed[exact]
        suffix = "/" + path
        matches = [name for name in self.executed if name.endswith(suffix)]
        return self.executed[min(matches, key=len)] if matches else None


def load_line_coverage(repo_root: Path) -> LineCoverage | None:
    """The ``.coverage`` file at the repository root, or None when absent or unreadable."""
    path = repo_root / ".coverage"
    if not path.is_file():
        return None
    data = coverage.CoverageData(basename=str(path), read_only=True)
    try:
        data.read()
        executed = {name: set(data.lines(name) or ()) for name in data.measured_files()}
    except (CoverageException, OSError, ValueError) as exc:
        del exc  # an unreadable data file means: fall back to static resolution
        return None
    return LineCoverage(path, executed)


def statement_lines(source: str) -> set[int]:
    """Executable statement lines, as coverage.py counts them (falls back to ``ast``)."""
    try:
        parser = PythonParser(text=source)
        parser.parse_source()
        return set(parser.statements)
    except Exception:
        tree = ast.parse(source)
        return {n.lineno for n in ast.walk(tree) if isinstance(n, ast.stmt)}


def module_line_coverage(source: str, executed: set[int] | None) -> tuple[int, int]:
    """``(covered statements, statements)`` of one module."""
    statements = statement_lines(source)
    if not executed:
        return 0, len(statements)
    try:
        parser = PythonParser(text=source)
        parser.parse_source()
        ran = parser.first_lines(executed)
    except Exception:
        ran = executed
    return len(statements & ran), len(statements)


def function_ran(body_lines: tuple[int, ...], executed: set[int] | None) -> bool:
    return bool(executed and any(line in executed for line in body_lines))
