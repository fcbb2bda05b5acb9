"""Performance risks in changed code: N+1 (the critic's CR001 detector), nested loops over one
collection, and blocking calls inside ``async def``. Never in test code: a test's loops and waits
cost its own run, not production's (the critic drops CR001 there too).
"""

from __future__ import annotations

import ast
from typing import Any

from controlroom.core.testpaths import is_test_code, is_test_path
from controlroom.core.toolkit.parsing import retry_system_error

BLOCKING = {
    "time.sleep": "time.sleep blocks the event loop; use await asyncio.sleep",
    "subprocess.run": "subprocess.run blocks the event loop; use asyncio.create_subprocess_exec",
    "subprocess.call": "subprocess.call blocks the event loop",
    "subprocess.check_call": "subprocess.check_call blocks the event loop",
    "subprocess.check_output": "subprocess.check_output blocks the event loop",
    "os.system": "os.system blocks the event loop",
    "urllib.request.urlopen": "urlopen blocks the event loop; use an async HTTP client",
}
BLOCKING_PREFIXES = {"requests.": "requests blocks the event loop; use an async HTTP client"}
_LOOPS = (ast.For, ast.AsyncFor)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_LOCAL_STOP = (*_SCOPES, ast.Lambda)


def _in_ranges(line: int, ranges: tuple[tuple[int, int], ...] | None) -> bool:
    return ranges is None or any(start <= line <= end for start, end in ranges)


def check(
    tree: ast.Module,
    nodes: Any,
    source: str,
    path: str,
    bindings: dict[str, str],
    ranges: tuple[tuple[int, int], ...] | None,
) -> list[dict[str, Any]]:
    """Finding dicts (rule, line, symbol, message, snippet, extra) on changed lines of ``tree``.

    ``nodes`` is :class:`agents.impact.scan.Nodes`, gathered in the scan's single walk.
    """
    if is_test_path(path):
        return []
    found = [*_nested_loops(nodes, tree), *_blocking(nodes, bindings), *_n_plus_one(source, path)]
    lines = source.splitlines()
    out = []
    seen: set[tuple[str, int]] = set()
    for item in sorted(found, key=lambda i: (i["line"], i["rule"])):
        if not _in_ranges(item["line"], ranges) or (item["rule"], item["line"]) in seen:
            continue
        seen.add((item["rule"], item["line"]))
        if item.get("symbol", "") == "":
            item["symbol"] = ".".join(scope_chain(tree, item["line"])) or None
        if is_test_code(path, item["symbol"]):
            continue
        item["snippet"] = lines[item["line"] - 1].strip() if item["line"] <= len(lines) else ""
        out.append(item)
    return out


def _n_plus_one(source: str, path: str) -> list[dict[str, Any]]:
    """CR001 from the critic's public detector, so critic and impact converge on one fingerprint
    (same rule, line and symbol). It parses only the regions holding candidate calls."""
    try:
        from controlroom.core.toolkit.n_plus_one import DETECTOR, find_n_plus_one
    except ImportError:  # the critic's module is not installed: no N+1 check
        return []
    return [
        {
            "rule": "CR001",
            "line": line,
            "symbol": symbol,
            "message": f"possible N+1: {call_text} runs once per loop iteration",
            "extra": {"call": call_text},
            "detector": DETECTOR,
        }
        for line, symbol, call_text in retry_system_error(lambda: find_n_plus_one(source, path))
    ]


def _walk_local(nodes: list[ast.AST]):
    """Nodes under ``nodes`` without entering nested functions, classes or lambdas."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _LOCAL_STOP):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _iterators(tree: ast.Module) -> set[str]:
    """Names bound to ``iter(...)``: nested loops over one iterator share its cursor (linear)."""
    return {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "iter"
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _nested_loops(nodes: Any, tree: ast.Module) -> list[dict[str, Any]]:
    out = []
    iterators: set[str] | None = None  # read from the tree only when a loop over a name is seen
    for loop in nodes.loops:
        key = _collection_key(loop.iter)
        if key is None:
            continue
        if isinstance(loop.iter, ast.Name):
            iterators = _iterators(tree) if iterators is None else iterators
            if loop.iter.id in iterators:
                continue
        for inner in _walk_local(loop.body):
            if isinstance(inner, _LOOPS):
                iters = [inner.iter]
            elif isinstance(inner, _COMPREHENSIONS):
                iters = [g.iter for g in inner.generators]
            else:
                continue
            if any(_collection_key(it) == key for it in iters):
                out.append(_nested(inner.lineno, loop.iter))
    for comp in nodes.comprehensions:
        keys = [_collection_key(g.iter) for g in comp.generators]
        keys = [k for k in keys if k is not None]
        if len(keys) != len(set(keys)):
            out.append(_nested(comp.lineno, comp.generators[0].iter))
    return out


def _nested(line: int, iterable: ast.expr) -> dict[str, Any]:
    text = ast.unparse(iterable)
    return {
        "rule": "IMP301",
        "line": line,
        "symbol": "",
        "message": f"nested loop over {text} inside a loop over the same collection (quadratic)",
        "extra": {"collection": text},
    }


def _blocking(nodes: Any, bindings: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for func in nodes.async_defs:
        for node in _walk_local(func.body):
            if not isinstance(node, ast.Call):
                continue
            name = _qualified(node.func, bindings)
            if not name:
                continue
            reason = BLOCKING.get(name)
            if reason is None:
                reason = next((r for p, r in BLOCKING_PREFIXES.items() if name.startswith(p)), None)
            if reason is not None:
                out.append(
                    {
                        "rule": "IMP302",
                        "line": node.lineno,
                        "symbol": "",
                        "message": f"blocking call {name}() inside async def: {reason}",
                        "extra": {"call": name},
                    }
                )
    return out


def _qualified(func: ast.expr, bindings: dict[str, str]) -> str | None:
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    head = bindings.get(func.id)
    if head is None:
        return None
    return ".".join([head, *reversed(parts)])


def scope_chain(tree: ast.AST, line: int) -> list[str]:
    """Names of the defs/classes enclosing ``line``, outermost first."""
    chain: list[str] = []
    body = getattr(tree, "body", [])
    while True:
        holder = None
        for node in body:
            if isinstance(node, _SCOPES) and node.lineno <= line <= (node.end_lineno or 0):
                holder = node
                break
        if holder is None:
            return chain
        chain.append(holder.name)
        body = list(_walk_body(holder))


def _walk_body(node: ast.AST):
    """Statements that can hold a def directly or under control flow (if/try/with/for)."""
    stack = list(getattr(node, "body", []))
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, _SCOPES):
            continue
        for attr in ("body", "orelse", "finalbody", "handlers"):
            stack.extend(getattr(current, attr, []))


def _collection_key(node: ast.expr) -> str | None:
    """A comparable key for a loop's iterable when it names a collection (not range() etc.)."""
    if isinstance(node, ast.Name | ast.Attribute | ast.Subscript):
        return ast.dump(node, annotate_fields=False, include_attributes=False)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("items", "values", "keys")
        and not node.args
    ):  # items.values(), mapping.items(): the same collection too
        return _collection_key(node.func.value)
    return None
