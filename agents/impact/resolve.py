"""Whether a name that left a class or module is still served by the new tree.

A method removed from a class may still be inherited from a base (resolved through the bases'
import paths in the repository at the commit, base of base included); a name removed from a
module may still be served by the module's ``__getattr__`` (a shim, usually with a
DeprecationWarning). Other modules are read on demand through ``TreeView`` and never imported.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import griffe

MAX_DEPTH = 16
MAX_CLASSES = 128  # bases looked at for one question
# Standard-library modules whose import does something (opens a browser, prints, needs a display).
UNSAFE_STDLIB = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "__main__"}
DEPRECATION_CATEGORIES = {"DeprecationWarning", "PendingDeprecationWarning", "FutureWarning"}


class TreeView:
    """Modules of the new tree by dotted name, parsed once with griffe's static visitor."""

    def __init__(
        self,
        text_of: Callable[[str], tuple[str, str] | None],
        changed: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        self._text_of = text_of  # module name -> (path, text) at the commit, or None
        self._modules: dict[str, griffe.Module | None] = {}
        self.changed = changed or {}  # the commit's changed modules: name -> (path, new text)
        self.scratch: dict[str, Any] = {}  # what checks derive from the changed modules, once

    def add(self, name: str, module: griffe.Module) -> None:
        self._modules[name] = module

    def module(self, name: str) -> griffe.Module | None:
        if name not in self._modules:
            self._modules[name] = None
            found = self._text_of(name)
            if found is not None:
                from controlroom.agents.impact.api import load_module

                with contextlib.suppress(SyntaxError, ValueError, RecursionError):
                    self._modules[name] = load_module(name, found[0], found[1])
        return self._modules[name]

    def find(self, dotted: str, depth: int = 0) -> Any:
        """The object at ``dotted`` (aliases followed inside the repository), or None."""
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            module = self.module(".".join(parts[:cut]))
            if module is None:
                continue
            obj: Any = module
            for part in parts[cut:]:
                obj = _member(obj, part)
                if obj is None:
                    return None
                if obj.is_alias:
                    if depth >= MAX_DEPTH:
                        return None
                    target = _alias_target(obj)
                    obj = self.find(target, depth + 1) if target else None
                    if obj is None:
                        return None
            return obj
        return None


def _member(obj: Any, name: str) -> Any:
    try:
        return obj.members.get(name)
    except Exception:  # griffe could not list the members
        return None


def _alias_target(alias: Any) -> str | None:
    try:
        return str(alias.target_path)
    except Exception:
        return None


def _path(obj: Any) -> str:
    try:
        return str(obj.path)
    except Exception:
        return str(getattr(obj, "name", obj))


def _base_path(base: Any) -> str:
    try:
        return str(base.canonical_path) if not isinstance(base, str) else base
    except Exception:  # an expression griffe cannot resolve
        return str(base)


@dataclass(slots=True)
class Provided:
    """How a removed member is still reachable: ``how`` is "inherited", "maybe-inherited"
    (a base outside the repository, or past the depth limit), "deprecated" (a shim that warns) or "served"."""

    how: str
    source: str  # the base class's dotted path, or "__getattr__"
    line: int | None = None  # for a shim: the line of the new file that mentions the name
    category: str | None = None


def stdlib_class(path: str) -> type | None:
    """The built-in or standard-library class at ``path`` (never a third-party import)."""
    module, _, name = path.rpartition(".")
    if not module:
        found = getattr(builtins, name, None)
        return found if isinstance(found, type) else None
    top = module.partition(".")[0]
    if top not in sys.stdlib_module_names or top in UNSAFE_STDLIB or top.startswith("_"):
        return None  # "__hello__" prints when imported
    try:
        found = getattr(importlib.import_module(module), name, None)
    except Exception:  # not importable here: unknown
        return None
    return found if isinstance(found, type) else None


def inherited(
    view: TreeView, cls: Any, name: str, depth: int = 0, seen: set[str] | None = None
) -> Provided | None:
    """Whether ``cls`` (in the new tree) gets ``name`` from one of its bases. Every class is
    visited once and at most ``MAX_DEPTH`` deep: a hostile hierarchy cannot make it explode."""
    seen = set() if seen is None else seen
    unknown: str | None = None
    if depth > MAX_DEPTH:  # not looked at: maybe inherited, never "surely removed"
        return Provided("maybe-inherited", _path(cls))
    for base in getattr(cls, "bases", ()):
        path = _base_path(base)
        if path in seen:
            continue
        if len(seen) >= MAX_CLASSES:
            unknown = unknown or path
            continue
        seen.add(path)
        target = view.find(path)
        if target is None or not getattr(target, "is_class", False):
            known = stdlib_class(path)
            if known is not None:
                if hasattr(known, name):
                    return Provided("inherited", path)
                continue
            unknown = unknown or path
            continue
        if name in target.members:
            return Provided("inherited", str(target.path))
        deeper = inherited(view, target, name, depth + 1, seen)
        if deeper is not None and deeper.how == "inherited":
            return deeper
        if deeper is not None:
            unknown = unknown or deeper.source
    return Provided("maybe-inherited", unknown) if unknown else None


def getattr_function(tree: ast.Module, scope: list[ast.stmt]) -> ast.AST | None:
    """The ``__getattr__`` among ``scope``'s statements: a ``def``, or ``__getattr__ =
    factory(...)`` where ``factory`` is a module function that defines a nested ``__getattr__``."""
    for stmt in scope:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == "__getattr__":
            return stmt
    for stmt in scope:
        if not (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)):
            continue
        if not any(isinstance(t, ast.Name) and t.id == "__getattr__" for t in stmt.targets):
            continue
        func = stmt.value.func
        factory = next(
            (
                s
                for s in tree.body
                if isinstance(s, ast.FunctionDef)
                and isinstance(func, ast.Name)
                and s.name == func.id
            ),
            None,
        )
        if factory is None:
            continue
        for node in ast.walk(factory):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node is factory:
                continue
            if node.name == "__getattr__":
                return node
    return None


def served_by_getattr(tree: ast.Module, scope: list[ast.stmt], name: str) -> Provided | None:
    """Whether a ``__getattr__`` among ``scope``'s statements mentions ``name`` (a string literal
    in its body, or in a module-level or local mapping or collection its body reads)."""
    getattr_def = getattr_function(tree, scope)
    if getattr_def is None:
        return None
    tables = {**_module_tables(tree), **_local_tables(getattr_def)}
    line: int | None = None
    for node in ast.walk(getattr_def):
        if isinstance(node, ast.Constant) and node.value == name:
            line = node.lineno
            break
        if isinstance(node, ast.Name) and name in tables.get(node.id, {}):
            line = tables[node.id][name]
            break
    if line is None:
        return None
    category = _warning_category(getattr_def)
    if category is None:
        return Provided("served", "__getattr__", line)
    return Provided("deprecated", "__getattr__", line, category)


def _local_tables(function: ast.AST) -> dict[str, dict[str, int]]:
    """Names bound to literal collections inside ``function`` (``table = {"__url__": ...}``)."""
    assigned: list[ast.stmt] = [
        n for n in ast.walk(function) if isinstance(n, ast.Assign | ast.AnnAssign)
    ]
    return _module_tables(ast.Module(body=assigned, type_ignores=[]))


def _module_tables(tree: ast.Module) -> dict[str, dict[str, int]]:
    """Module-level names bound to literal collections: the names they hold (a dict's keys, a
    collection's strings, a ``dict(...)`` call's keywords), with their lines."""
    out: dict[str, dict[str, int]] = {}
    for stmt in tree.body:
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            continue
        strings = _held(value)
        if strings is None:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                out[target.id] = strings
    return out


def _held(value: ast.expr) -> dict[str, int] | None:
    if isinstance(value, ast.Dict):
        nodes: list[ast.AST] = [k for k in value.keys if k is not None]
    elif isinstance(value, ast.Set | ast.List | ast.Tuple):
        nodes = [n for e in value.elts for n in ast.walk(e)]
    elif isinstance(value, ast.Call):
        held = {kw.arg: kw.value.lineno for kw in value.keywords if kw.arg}
        for arg in value.args:
            held.update(_held(arg) or {})
        return held
    else:
        return None
    return {
        n.value: n.lineno for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def getattr_names(tree: ast.Module) -> dict[str, int]:
    """The names a module-level ``__getattr__`` answers for: identifier strings it compares
    ``name`` with, and the names in module-level or local collections it reads."""
    fn = getattr_function(tree, tree.body)
    if fn is None:
        return {}
    tables = {**_module_tables(tree), **_local_tables(fn)}
    names: dict[str, int] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                for n in ast.walk(operand):
                    if isinstance(n, ast.Constant) and isinstance(n.value, str):
                        names.setdefault(n.value, n.lineno)
        if isinstance(node, ast.Name) and node.id in tables:
            for name, line in tables[node.id].items():
                names.setdefault(name, line)
    return {n: line for n, line in names.items() if n.isidentifier()}


def _warning_category(function: ast.AST) -> str | None:
    """The warning category a ``__getattr__`` raises for the names it serves (None: no warning)."""
    found: str | None = None
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        callee = ast.unparse(node.func)
        if not callee.rpartition(".")[2].startswith("warn") and "deprecat" not in callee.lower():
            continue
        category = _call_category(node)
        if category and category.rpartition(".")[2] in DEPRECATION_CATEGORIES:
            return category.rpartition(".")[2]
        found = found or category or callee
    return found


def _call_category(call: ast.Call) -> str | None:
    for kw in call.keywords:
        if kw.arg == "category":
            return ast.unparse(kw.value)
    if len(call.args) > 1:
        return ast.unparse(call.args[1])
    return None


def scope_of(tree: ast.Module, class_parts: list[str]) -> list[ast.stmt] | None:
    """The body of the class at ``class_parts`` (the module's body for [])."""
    body: list[ast.stmt] = tree.body
    for part in class_parts:
        cls = next((s for s in body if isinstance(s, ast.ClassDef) and s.name == part), None)
        if cls is None:
            return None
        body = cls.body
    return body


def subclass_of(view: TreeView, module: str, name: str, roots: set[str]) -> bool:
    """Whether ``name`` as written in ``module`` is a class of the repository deriving from one
    of ``roots`` (base names, e.g. "DeprecationWarning")."""
    scope = view.module(module)
    if scope is None:
        return False
    head, _, rest = name.partition(".")
    try:
        path = scope.resolve(head)
    except Exception:  # not a name of the module
        return False
    target = view.find(f"{path}.{rest}" if rest else path)
    return _derives(view, target, roots, 0)


def _derives(
    view: TreeView, cls: Any, roots: set[str], depth: int, seen: set[str] | None = None
) -> bool:
    seen = set() if seen is None else seen
    if cls is None or not getattr(cls, "is_class", False) or depth > MAX_DEPTH:
        return False
    for base in cls.bases:
        path = _base_path(base)
        if path.rpartition(".")[2] in roots:
            return True
        if path in seen or len(seen) > MAX_CLASSES:
            continue
        seen.add(path)
        if _derives(view, view.find(path), roots, depth + 1, seen):
            return True
    return False


def derives(view: TreeView, cls: Any, base_name: str) -> bool:
    """Whether ``cls`` has an ancestor named ``base_name`` (last component) in the new tree."""
    return _derives(view, cls, {base_name}, 0)


def base_name(base: Any) -> str:
    """The last component of a base class expression (``pkg.mixins.Mixin`` -> ``Mixin``)."""
    return _base_path(base).rpartition(".")[2]
