"""One parse per file for the impact agent: imports, resolved call sites, definitions, and (for
changed files) performance and migration findings. Runs in worker processes; returns plain dicts
that are also what the import-graph cache stores.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from controlroom.agents.impact import migrations as impact_migrations
from controlroom.agents.impact import perf as impact_perf
from controlroom.core.testpaths import is_test_path as is_test_path  # the shared rule
from controlroom.core.toolkit.parsing import parse


@dataclass(frozen=True, slots=True)
class ScanJob:
    """A file to scan. ``deep`` adds performance and migration checks (changed files only)."""

    path: str
    source: str
    deep: bool = False
    ranges: tuple[tuple[int, int], ...] | None = None  # None: the whole file counts as changed


def module_name(path: str) -> str:
    """``src/pkg/sub/__init__.py`` -> ``pkg.sub``; ``pkg/mod.py`` -> ``pkg.mod``."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def scan_many(jobs: list[ScanJob]) -> list[dict[str, Any]]:
    """Scan several files (the unit of work of a worker process)."""
    return [scan(job) for job in jobs]


def scan(job: ScanJob, tree: ast.Module | None = None) -> dict[str, Any]:
    """The record of one file; ``error`` is set when it does not parse. ``tree``: already parsed."""
    module = module_name(job.path)
    record: dict[str, Any] = {
        "path": job.path,
        "module": module,
        "imports": [],
        "calls": {},
        "defs": [],
    }
    if tree is None:
        try:
            tree = parse(job.source, job.path)
        except (SyntaxError, ValueError) as exc:
            record["error"] = f"syntax error: {getattr(exc, 'msg', exc)}"
            return record
    is_package = PurePosixPath(job.path).name == "__init__.py"
    nodes = collect(tree)
    bindings = _imports(nodes.imports, module, is_package, record)
    record["bindings"] = {k: v for k, v in bindings.items() if "." in v}
    record["calls"] = _calls(nodes.calls, bindings)
    record["defs"] = _defs(tree)
    if job.deep:
        record["perf"] = impact_perf.check(tree, nodes, job.source, job.path, bindings, job.ranges)
        if impact_migrations.is_python_migration(job.path, job.source):
            record["migration"] = impact_migrations.python_ops(tree, job.path, job.source)
    return record


@dataclass(slots=True)
class Nodes:
    """The nodes of one tree the impact checks need, gathered in a single walk."""

    imports: list[ast.Import | ast.ImportFrom] = field(default_factory=list)
    calls: list[ast.Call] = field(default_factory=list)
    loops: list[ast.For | ast.AsyncFor] = field(default_factory=list)
    comprehensions: list[ast.expr] = field(default_factory=list)
    async_defs: list[ast.AsyncFunctionDef] = field(default_factory=list)


_BUCKETS = {
    ast.Import: "imports",
    ast.ImportFrom: "imports",
    ast.Call: "calls",
    ast.For: "loops",
    ast.AsyncFor: "loops",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.AsyncFunctionDef: "async_defs",
}


def collect(tree: ast.AST) -> Nodes:
    nodes = Nodes()
    buckets = {kind: getattr(nodes, name) for kind, name in _BUCKETS.items()}
    for node in ast.walk(tree):
        bucket = buckets.get(type(node))
        if bucket is not None:
            bucket.append(node)
    return nodes


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".") if module else []
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)] if level - 1 <= len(base) else []
    if target:
        base = [*base, *target.split(".")]
    return ".".join(base)


def _imports(
    imports: list[ast.Import | ast.ImportFrom],
    module: str,
    is_package: bool,
    record: dict[str, Any],
) -> dict[str, str]:
    """Fill ``record["imports"]`` ([module, name-or-None, line]) and return local bindings."""
    bindings: dict[str, str] = {}
    for node in imports:
        if isinstance(node, ast.Import):
            for alias in node.names:
                record["imports"].append([alias.name, None, node.lineno])
                if alias.asname:
                    bindings[alias.asname] = alias.name
                else:
                    head = alias.name.split(".", 1)[0]
                    bindings[head] = head
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                source = _resolve_relative(module, is_package, node.level, node.module)
            else:
                source = node.module or ""
            if not source:
                continue
            for alias in node.names:
                if alias.name == "*":
                    record["imports"].append([source, None, node.lineno])
                    continue
                record["imports"].append([source, alias.name, node.lineno])
                bindings[alias.asname or alias.name] = f"{source}.{alias.name}"
    return bindings


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _calls(nodes: list[ast.Call], bindings: dict[str, str]) -> dict[str, list[int]]:
    """Calls whose callee resolves through an import: qualified name -> lines."""
    calls: dict[str, list[int]] = {}
    if not bindings:
        return calls
    for node in nodes:
        dotted = _dotted(node.func)
        if dotted is None:
            continue
        head, _, rest = dotted.partition(".")
        target = bindings.get(head)
        if target is None:
            continue
        qualified = f"{target}.{rest}" if rest else target
        calls.setdefault(qualified, []).append(node.lineno)
    return calls


def _defs(tree: ast.Module) -> list[list[Any]]:
    """Top-level and class-level definitions: [qualname, first line, last line]."""
    out: list[list[Any]] = []
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for node in tree.body:
        if not isinstance(node, kinds):
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        out.append([node.name, first, node.end_lineno or node.lineno])
        if isinstance(node, ast.ClassDef):
            for child in node.body:
                if isinstance(child, kinds):
                    start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                    out.append([f"{node.name}.{child.name}", start, child.end_lineno or start])
    return out
