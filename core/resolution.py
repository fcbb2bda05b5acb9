"""Resolution that means "fixed": which open tasks an analysis shows gone.

Only an analysis that speaks for the present (``core.lineage``) resolves anything. Within a file,
a task's problem is looked for in the definition it was found in (its ``symbol``), over the extent
its detector examined; findings about the change itself (``extra["about_change"]``) are never
resolved by absence.
"""

from __future__ import annotations

import ast
import json
import sys

import aiosqlite

from controlroom.core.convergence import is_group, normalise_snippet
from controlroom.core.lineage import Lineage
from controlroom.core.model import ChangeSet, FileChange, FileStatus
from controlroom.core.queue import TASK_COLUMNS, log_transition, task_from_row
from controlroom.core.task_refs import TaskRef, rows_by_fingerprint
from controlroom.core.toolkit.parsing import parse

GONE = (0, 0)  # the definition is no longer in the file


class Scopes:
    """Definitions and statements of changed files, each side parsed at most once (and only when
    a task there needs its scope); :meth:`of_change` shares one per change set."""

    SCRATCH_KEY = "resolution_scopes"

    @classmethod
    def of_change(cls, change: ChangeSet) -> Scopes:
        """The change set's scopes: resolution and the grouped items parse each file once."""
        scopes = change.scratch.get(cls.SCRATCH_KEY)
        if not isinstance(scopes, cls):
            scopes = change.scratch[cls.SCRATCH_KEY] = cls()
        return scopes

    def __init__(self) -> None:
        self._trees: dict[tuple[str, str], ast.Module | None] = {}
        self._ranges: dict[tuple[str, str], dict[str, tuple[int, int]] | None] = {}
        self._lines: dict[str, dict[str, list[int]]] = {}

    def _tree(self, path: str, side: str, text: str | None) -> ast.Module | None:
        key = (path, side)
        if key not in self._trees:
            self._trees[key] = _parse(text) if text is not None else None
        return self._trees[key]

    WARM_BYTES = 1_000_000  # above this much changed Python, nothing is parsed ahead

    def warm(self, change: ChangeSet) -> None:
        """Parse the new text of a small change set's Python files ahead (blocking: run it in a
        thread while the agents run); resolution then finds them parsed."""
        files = [f for f in change.python_files() if f.new_text is not None]
        if sum(len(f.new_text or "") for f in files) > self.WARM_BYTES:
            return
        for f in files:
            self._definitions(f.path, "new", f.new_text)

    def lines_with(self, change: FileChange, normalised: str) -> list[int]:
        """The new text's line numbers whose normalised text is ``normalised`` (an index built
        once per file)."""
        index = self._lines.get(change.path)
        if index is None:
            index = self._lines[change.path] = {}
            for number, text in enumerate((change.new_text or "").splitlines(), start=1):
                index.setdefault(normalise_snippet(text), []).append(number)
        return index.get(normalised, [])

    def statement_end(self, change: FileChange, line: int) -> int:
        """The last line of the innermost statement holding ``line`` in the new text (a compound
        statement's header only); ``line`` itself when unknown."""
        tree = self._tree(change.path, "new", change.new_text)
        return statement_end(tree, line) if tree is not None else line

    def of(self, change: FileChange, symbol: str | None) -> tuple[int, int] | None:
        """The lines of ``symbol`` in the new text; GONE when the parent had it and the new text
        does not; None (the whole file) when unknown: no symbol, unparsable, or a name that
        neither side defines (a detector naming things its own way)."""
        if not symbol:
            return None
        new = self._definitions(change.path, "new", change.new_text)
        if new is None:
            return None
        if symbol in new:
            return new[symbol]
        old = self._definitions(change.path, "old", change.old_text)
        return GONE if old is not None and symbol in old else None

    def _definitions(
        self, path: str, side: str, text: str | None
    ) -> dict[str, tuple[int, int]] | None:
        key = (path, side)
        if key not in self._ranges:
            tree = self._tree(path, side, text)
            self._ranges[key] = definitions(tree) if tree is not None else None
        return self._ranges[key]


def _parse(source: str) -> ast.Module | None:
    try:
        return parse(source, "<resolution>")  # locked: agents parse in other threads
    except (SyntaxError, ValueError, RecursionError):
        return None


def statement_end(tree: ast.Module, line: int) -> int:
    """The last line of the innermost statement holding ``line`` (a compound statement: its
    header, up to the line before its body); ``line`` when no statement holds it. Descends only
    through the statements that contain the line."""
    body: list[ast.stmt] = tree.body
    end = line
    while True:
        node = next((n for n in body if n.lineno <= line <= (n.end_lineno or n.lineno)), None)
        if node is None:
            return end
        inner = [
            child
            for field in ("body", "orelse", "finalbody", "handlers", "cases")
            for child in getattr(node, field, None) or []
            if isinstance(child, ast.stmt | ast.excepthandler | ast.match_case)
        ]
        first = min((_first_line(c) for c in inner), default=None)
        if first is None or line < first:  # a simple statement, or the compound's header
            header_end = (first - 1) if first is not None else (node.end_lineno or node.lineno)
            return max(node.lineno, header_end)
        body = [s for c in inner for s in _statements_of(c)]
        end = line


def _first_line(node: ast.AST) -> int:
    if isinstance(node, ast.match_case):
        return node.pattern.lineno
    return int(getattr(node, "lineno", 0))


def _statements_of(node: ast.AST) -> list[ast.stmt]:
    """``node`` itself if a statement, else (a handler, a case) the statements it holds."""
    if isinstance(node, ast.stmt):
        return [node]
    return list(getattr(node, "body", []))


def definitions(tree: ast.Module) -> dict[str, tuple[int, int]]:
    """``{"Class.method": (first, last)}`` for every def and class (decorators included). A name
    defined more than once (``@overload`` stubs, a property's setter, a def in both branches of
    an ``if``) spans all of them: its problem may sit in any."""
    ranges: dict[str, tuple[int, int]] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{node.name}"
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                last = node.end_lineno or node.lineno
                if name in ranges:
                    first, last = min(first, ranges[name][0]), max(last, ranges[name][1])
                ranges[name] = (first, last)
                visit(node.body, f"{name}.")
            elif isinstance(node, ast.If | ast.Try | ast.With):
                visit(getattr(node, "body", []), prefix)
                visit(getattr(node, "orelse", []), prefix)

    visit(tree.body, "")
    return ranges


def definition_ranges(source: str) -> dict[str, tuple[int, int]] | None:
    """:func:`definitions` of ``source``, or None when it does not parse."""
    tree = _parse(source)
    return definitions(tree) if tree is not None else None


def is_about_change(extra_json: str | None) -> bool:
    """Whether a finding describes the change it was found in (``extra["about_change"]``): an API
    removal or a new migration is only visible in that commit's diff (and the tests agent's
    environment problem, TEST003, is not in the code at all), so its absence from a later
    analysis says nothing about a fix, and such a task is never resolved by absence."""
    if not extra_json or "about_change" not in extra_json:
        return False
    try:
        return bool(json.loads(extra_json).get("about_change"))
    except (ValueError, AttributeError):
        return False


async def resolve_gone(
    conn: aiosqlite.Connection,
    change: ChangeSet,
    seen: set[str],
    now: float,
    agents_ok: set[str],
    analyze_all: bool,
    lineage: Lineage,
) -> list[TaskRef]:
    """Open tasks in files this commit touched whose problem is gone: resolved "fixed in <sha>".

    Only when this analysis speaks for the present about the task (``lineage``: the commit is
    HEAD or descends from where the task was last seen). Gone means: the file was deleted, or the
    flagged line's text is no longer in the file, or the agents that found it looked at that line
    again (a changed line, or ``--all``) and did not find it. A task is only resolved when every
    agent behind it ran successfully; sweeps never re-run here, so a task only sweeps found is
    resolved only when its file or its line's text is gone.
    """
    by_path = {f.path: f for f in change.files if f.status is not FileStatus.DELETED}
    deleted = {f.old_path or f.path for f in change.files if f.status is FileStatus.DELETED}
    renamed_from = {
        f.old_path for f in change.files if f.status is FileStatus.RENAMED and f.old_path
    }
    paths = set(by_path) | deleted | renamed_from
    if not paths:
        return []
    cursor = await conn.execute(
        f"SELECT {TASK_COLUMNS} FROM tasks WHERE state IN ('pending', 'snoozed') "
        f"AND path IN ({', '.join('?' * len(paths))})",
        sorted(paths),
    )
    # Tasks seen again in this commit are skipped before any work (Django --all: ~12,000).
    rows = [
        row
        for row in await cursor.fetchall()
        if row["fingerprint"] not in seen and not is_group(row["fingerprint"])
    ]  # a group's items are resolved one by one (core/grouping.py)
    cursor = await conn.execute("SELECT DISTINCT hobby FROM sweep_runs")
    sweeps = {row["hobby"] for row in await cursor.fetchall()}
    placed = [t for t in map(task_from_row, rows) if lineage.current(t.last_seen_commit)]
    candidates = [t for t in placed if set(t.agents) - sweeps <= agents_ok]
    latest = await rows_by_fingerprint(
        conn, "fingerprint, snippet, line, end_line, extra_json", "findings",
        [t.fingerprint for t in candidates],
    )  # fmt: skip
    snippets = {  # the flagged line's text and the extent the detector examined, latest finding
        row["fingerprint"]: (row["snippet"], max(0, (row["end_line"] or row["line"]) - row["line"]))
        for row in latest
    }
    about_change = {row["fingerprint"] for row in latest if is_about_change(row["extra_json"])}
    scopes = Scopes.of_change(change)
    resolved = []
    for task in candidates:
        if task.fingerprint in about_change:
            continue  # a finding on the change itself is never found again in a later diff
        snippet, span = snippets.get(task.fingerprint) or ("", 0)
        rechecked = analyze_all and bool(set(task.agents) - sweeps)
        if not is_gone(
            task.path, task.symbol, snippet, by_path, deleted | renamed_from, rechecked,
            only_text=not set(task.agents) - sweeps, span=span, scopes=scopes,
        ):  # fmt: skip
            continue
        await conn.execute(
            "UPDATE tasks SET state = 'resolved', resolved_commit = ?, updated_at = ?, reason = ? "
            "WHERE id = ?",
            (change.commit, now, f"fixed in {change.commit[:10]}", task.id),
        )
        await log_transition(
            conn, task.id, task.state, "resolved", actor="system",
            reason=f"fixed in {change.commit[:10]}", at=now,
        )  # fmt: skip
        resolved.append(
            TaskRef(
                task.id,
                task.fingerprint,
                "resolved",
                task.severity.value,
                task.rule,
                task.path,
                task.line,
            )
        )
    return resolved


def is_gone(
    path: str,
    symbol: str | None,
    snippet: str,
    by_path: dict[str, FileChange],
    removed: set[str],
    analyze_all: bool,
    *,
    only_text: bool = False,
    span: int = 0,
    scopes: Scopes | None = None,
) -> bool:
    """Whether the problem flagged at ``snippet`` in ``symbol`` is gone from ``path`` in this change.

    The flagged text is looked for within the same definition only (a copy of the line in another
    function keeps nothing alive); a definition the commit removed takes its problems with it.
    ``span``: how many lines past the flagged one its detector examined (a whole statement, or a
    whole definition for a missing docstring): a change anywhere in that extent means it was looked
    at again.
    """
    if path in removed and path not in by_path:
        return True
    change = by_path.get(path)
    if change is None or change.new_text is None:
        return False
    scopes = scopes or Scopes()
    wanted = normalise_snippet(snippet)
    anywhere = scopes.lines_with(change, wanted) if wanted else []
    if wanted and not anywhere:
        return True  # not in the file at all, so not in its definition either: no parse needed
    scope = scopes.of(change, symbol)
    if scope is GONE:
        return True
    if not wanted:
        return analyze_all
    first, last = scope or (1, sys.maxsize)
    matches = [number for number in anywhere if first <= number <= last]
    if not matches:
        return True
    if only_text:
        return False
    # Still there: gone only if the agents re-examined every place it could be.
    return analyze_all or all(
        any(
            change.touches(n)
            for n in range(number, max(number + span, scopes.statement_end(change, number)) + 1)
        )
        for number in matches
    )
