"""Rule CR001 (N+1): a database, ORM or HTTP call that runs once per loop iteration.

Shared by the critic and the impact agent, so both report the same rule, symbol and line and
converge on one fingerprint. A cheap regex decides whether a file could match before any parse;
only the top-level regions holding a candidate call are parsed (see ``core.toolkit.regions``).
"""

from __future__ import annotations

import ast
import bisect
import re

from controlroom.core.toolkit.regions import Parsed, Slice, SourceRegions

RULE = "CR001"
# One detector id wherever it runs: the critic and the impact agent reporting it are one vote.
DETECTOR = "n_plus_one"
# Method names that talk to a database or a remote service, whatever the receiver is called.
DB_METHODS = {"execute", "executemany", "query", "fetchone", "fetchall", "fetchmany", "raw"}
# Receivers whose HTTP/ORM verbs are calls to a service: session.get(...), client.post(...).
SESSION_NAMES = {"session", "sess", "db_session"}
SESSION_VERBS = {"get", "post", "put", "patch", "delete", "head", "request", "scalar", "scalars"}
HTTP_MODULES = {"requests", "httpx", "aiohttp"}
URLOPEN = {"urlopen", "urllib.request.urlopen", "request.urlopen"}
_PREFILTER = re.compile(
    r"\.objects\.|\.(?:execute|executemany|query|fetchone|fetchall|fetchmany|raw)\s*\("
    r"|session\.\w+\s*\(|\b(?:requests|httpx|aiohttp)\.|urlopen\s*\("
)
_LOOP = re.compile(r"\b(?:for|while)\b")
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


_HINTS: tuple[str, ...] = (
    "objects.",
    "execute",
    "query(",
    "fetch",
    "raw(",
    "session",
    "requests.",
    "httpx.",
)
_HINTS += ("aiohttp.", "urlopen")


def could_match(source: str) -> bool:
    """Cheap test: False means the file certainly has no CR001 finding."""
    if not any(hint in source for hint in _HINTS):  # substring tests are much faster than re
        return False
    return bool(_PREFILTER.search(source)) and bool(_LOOP.search(source))


def find_n_plus_one(
    source: str, path: str, regions: SourceRegions | None = None
) -> list[tuple[int, str | None, str]]:
    """``(line, enclosing symbol, call text)`` for each per-iteration DB/ORM/HTTP call, by line.

    ``path`` is only for the caller's messages; a file that does not parse gives no result. A
    call is considered only when the prefilter matches on its first line.
    """
    del path
    if not could_match(source):
        return []
    regions = regions or SourceRegions(source)
    candidates = _candidate_lines(source)
    slices: dict[Slice, list[int]] = {}
    for line in candidates:
        slices.setdefault(regions.locate(line), []).append(line)
    found: list[tuple[int, str | None, str]] = []
    for part, lines in slices.items():
        parsed = regions.parse_slice(part)
        if parsed is None or (part.indent and not _is_wrapped(parsed.tree)):
            whole = regions.whole()  # a slice did not parse: visit the whole file instead
            return [] if whole is None else _visit(whole, Slice(1, len(regions.lines)), candidates)
        found.extend(_visit(parsed, part, lines))
    return sorted(set(found))


def _visit(parsed: Parsed, part: Slice, lines: list[int]) -> list[tuple[int, str | None, str]]:
    visitor = _LoopCalls(parsed.offset, [n - parsed.offset for n in lines])
    if part.indent:  # the class body wrapped in "if 1:", then any module-level code after it
        wrapper, *rest = parsed.tree.body
        visitor.scope = list(part.prefix)
        visitor.visit(wrapper)
        visitor.scope = []
        for stmt in rest:
            visitor.visit(stmt)
    else:
        visitor.visit(parsed.tree)
    return visitor.found


def _candidate_lines(source: str) -> list[int]:
    lines: list[int] = []
    line, last = 1, 0
    for match in _PREFILTER.finditer(source):
        line += source.count("\n", last, match.start())
        last = match.start()
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines


def _is_wrapped(tree: ast.Module) -> bool:
    return bool(tree.body) and isinstance(tree.body[0], ast.If)


class _LoopCalls(ast.NodeVisitor):
    """Collects matching calls evaluated once per iteration of an enclosing loop.

    Only nodes whose lines hold a candidate line are visited (``lines``, in tree numbering).
    """

    def __init__(self, offset: int, lines: list[int]) -> None:
        self.offset = offset
        self.lines = sorted(lines)
        self.scope: list[str] = []
        self.depth = 0  # loops enclosing the current node within the current function
        self.found: list[tuple[int, str | None, str]] = []

    def visit(self, node: ast.AST) -> None:
        start = getattr(node, "lineno", None)
        if start is not None:
            i = bisect.bisect_left(self.lines, start)
            end = getattr(node, "end_lineno", None) or start
            if i == len(self.lines) or self.lines[i] > end:
                return  # no candidate line inside: nothing to find here
        super().visit(node)

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.scope.append(node.name)
        saved, self.depth = self.depth, 0  # a def inside a loop does not run per iteration
        for stmt in node.body:
            self.visit(stmt)
        self.depth = saved
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def visit_Lambda(self, node: ast.Lambda) -> None:
        saved, self.depth = self.depth, 0
        self.visit(node.body)
        self.depth = saved

    def _loop(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.target)
        self.visit(node.iter)  # evaluated once
        self.depth += 1
        for stmt in node.body:
            self.visit(stmt)
        self.depth -= 1
        for stmt in node.orelse:
            self.visit(stmt)

    visit_For = visit_AsyncFor = _loop

    def visit_While(self, node: ast.While) -> None:
        self.depth += 1
        for stmt in node.body:
            self.visit(stmt)
        self.depth -= 1
        # ``while row := cursor.fetchone()`` streams one result set: the test is not flagged.
        self.visit(node.test)
        for stmt in node.orelse:
            self.visit(stmt)

    def _comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp
    ) -> None:
        first, *rest = node.generators
        self.visit(first.iter)  # evaluated once
        self.depth += 1
        for gen in (first, *rest):
            if gen is not first:
                self.visit(gen.iter)
            for condition in gen.ifs:
                self.visit(condition)
        for part in ("elt", "key", "value"):
            if hasattr(node, part):
                self.visit(getattr(node, part))
        self.depth -= 1

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_Call(self, node: ast.Call) -> None:
        if self.depth and _is_service_call(node.func):
            text = _dotted(node.func)
            self.found.append((node.lineno + self.offset, ".".join(self.scope) or None, text))
            for arg in (*node.args, *(k.value for k in node.keywords)):
                self.visit(arg)
            return
        self.generic_visit(node)


def _is_service_call(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in URLOPEN
    if not isinstance(func, ast.Attribute):
        return False
    text = _dotted(func)
    parts = text.split(".")
    if "objects" in parts[:-1]:
        return True  # Model.objects.filter(...), Model.objects.get(...)
    if func.attr in DB_METHODS:
        return True
    receiver = parts[-2] if len(parts) >= 2 else ""
    if receiver.lower() in SESSION_NAMES and func.attr in SESSION_VERBS:
        return True
    return parts[0] in HTTP_MODULES or text in URLOPEN


def _dotted(node: ast.expr) -> str:
    """``a.b.c`` for a chain of names and attributes; calls in the chain shown as ``f()``."""
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            parts.append("()")
            node = node.func
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            break
        else:
            parts.append("<expr>")
            break
    text = ".".join(reversed(parts))
    return text.replace(".()", "()")


__all__ = ["RULE", "could_match", "find_n_plus_one"]
