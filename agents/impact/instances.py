"""A class attribute that left a class but lives on in its subclasses' instances.

A release that moves ``parent = None`` from an abstract base to ``self.parent = None`` in a
subclass's ``__init__`` removes ``Base.parent`` from the class, yet every instance still has it:
only a read from the class itself breaks. Looked for in the modules the same commit changed (such
a move lands in one commit), each parsed only when its text has a ``class`` line naming the base.
"""

from __future__ import annotations

import ast
import contextlib
import re

from controlroom.agents.impact.resolve import Provided, TreeView
from controlroom.core.toolkit.parsing import parse


def set_on_subclass_instances(view: TreeView, cls_name: str, name: str) -> Provided | None:
    """Where a class of a module the commit changed, deriving from ``cls_name``, sets
    ``self.<name>`` in its ``__init__``: the attribute moved from the class to its instances."""
    for path, node in changed_subclasses(view, cls_name):
        for method in node.body:
            if isinstance(method, ast.FunctionDef) and method.name == "__init__":
                line = _self_assignment(method, name)
                if line is not None:
                    return Provided("instance", f"{path}:{line} {node.name}", line)
    return None


def changed_subclasses(view: TreeView, base: str) -> list[tuple[str, ast.ClassDef]]:
    """(path, class) of the classes of the commit's changed modules that name ``base`` (its last
    component) among their bases; remembered in the view for the next question."""
    known: dict[str, list[tuple[str, ast.ClassDef]]] = view.scratch.setdefault("subclasses", {})
    trees: dict[str, ast.Module | None] = view.scratch.setdefault("trees", {})
    if base not in known:
        pattern = re.compile(rf"^[ \t]*class\s+\w+\s*\([^)]*\b{re.escape(base)}\b", re.M)
        found: list[tuple[str, ast.ClassDef]] = []
        for path, text in view.changed.values():
            if not pattern.search(text):
                continue
            if path not in trees:
                trees[path] = None
                with contextlib.suppress(SyntaxError, ValueError, RecursionError):
                    trees[path] = parse(text, path)
            tree = trees[path]
            for node in ast.walk(tree) if tree is not None else ():
                if isinstance(node, ast.ClassDef) and any(
                    _last_name(b) == base for b in node.bases
                ):
                    found.append((path, node))
        known[base] = found
    return known[base]


def _last_name(expr: ast.expr) -> str | None:
    if isinstance(expr, ast.Name):
        return expr.id
    return expr.attr if isinstance(expr, ast.Attribute) else None


def _self_assignment(method: ast.FunctionDef, name: str) -> int | None:
    """The line where ``method`` assigns ``self.<name>`` (its first parameter), or None."""
    if not method.args.args:
        return None
    me = method.args.args[0].arg
    for node in ast.walk(method):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        else:
            continue
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and target.attr == name
                and isinstance(target.value, ast.Name)
                and target.value.id == me
            ):
                return node.lineno
    return None
