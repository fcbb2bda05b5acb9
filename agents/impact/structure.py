"""Structure changes griffe reports that no caller can observe.

- ``CLASS_REMOVED_BASE``: every removed base is still an ancestor through a new base (``class
  C(Mixin, dict)`` -> ``class C(CallbackDict)`` where ``CallbackDict(Mixin, dict)``), or its name is
  now served by the module's ``__getattr__`` (the base was folded into the class and deprecated:
  the deprecation is reported on its own).
- ``OBJECT_CHANGED_KIND``: an attribute bound to a call or a name (``update = _calls_update("update")``)
  that became a ``def`` (often decorated) is still a callable; a name that the new module still
  binds with its old kind in another branch (``try: X except NameError: class X: ...``) did not
  change kind.
- Parameter changes of a function that always raises (``impact_signatures.always_raises``).
"""

from __future__ import annotations

import ast
from typing import Any

from controlroom.agents.impact.resolve import (
    TreeView,
    base_name,
    derives,
    scope_of,
    served_by_getattr,
)
from controlroom.agents.impact.signatures import always_raises
from controlroom.core.toolkit.parsing import parse

KINDS = {"CLASS_REMOVED_BASE", "OBJECT_CHANGED_KIND"}
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def walk(obj: Any, dotted: str) -> Any:
    """The griffe member of ``obj`` at a dotted relative path (None when absent)."""
    for part in dotted.split("."):
        try:
            obj = obj.members.get(part)
        except Exception:  # griffe could not list the members
            return None
        if obj is None:
            return None
    return obj


def _split(symbol: str) -> tuple[list[str], str]:
    holder, _, name = symbol.rpartition(".")
    return (holder.split(".") if holder else []), name


def bindings(scope: list[ast.stmt], name: str) -> list[ast.stmt]:
    """Statements of ``scope`` (branches of ``if``/``try``/``with`` included) that bind ``name``."""
    out: list[ast.stmt] = []
    for stmt in scope:
        if isinstance(stmt, (*FUNCTIONS, ast.ClassDef)):
            if stmt.name == name:
                out.append(stmt)
            continue
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                out.append(stmt)
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                for part in inner:
                    out += bindings(
                        part.body if isinstance(part, ast.ExceptHandler) else [part], name
                    )
    return out


def raises_only(tree: ast.Module, symbol: str) -> bool:
    """Whether the function ``symbol`` of the new module can only raise."""
    holder, name = _split(symbol)
    scope = scope_of(tree, holder)
    if scope is None:
        return False
    node = next((s for s in scope if isinstance(s, FUNCTIONS) and s.name == name), None)
    if node is None:
        return False
    helpers: dict[str, ast.AST] = {s.name: s for s in tree.body if isinstance(s, FUNCTIONS)}
    return always_raises(node, helpers)


def unobservable(
    b: Any, item: Any, old: Any, new: Any, tree: ast.Module | None, view: TreeView
) -> bool:
    """Whether the structure change ``b`` (griffe's ``item``) is invisible to callers."""
    if tree is None:
        return False
    holder, name = _split(b.symbol)
    scope = scope_of(tree, holder)
    if scope is None:
        return False
    if b.kind == "CLASS_REMOVED_BASE":
        return _bases_kept(item, walk(new, b.symbol), tree, view)
    old_obj = walk(old, b.symbol)
    found = bindings(scope, name)
    old_kind = getattr(getattr(old_obj, "kind", None), "value", "")
    if old_kind == "class" and any(isinstance(s, ast.ClassDef) for s in found):
        return True
    if old_kind == "function" and any(isinstance(s, FUNCTIONS) for s in found):
        return True
    if old_kind == "attribute" and any(isinstance(s, ast.Assign | ast.AnnAssign) for s in found):
        return True  # still an attribute in one branch (`X = X` on new Pythons, a class else)
    if old_kind == "attribute" and any(isinstance(s, FUNCTIONS) for s in found):
        value = str(getattr(old_obj, "value", "") or "")
        try:
            body = parse(value, "<expr>").body if value else []
        except (SyntaxError, ValueError):
            body = []
        parsed = body[0].value if len(body) == 1 and isinstance(body[0], ast.Expr) else None
        return isinstance(parsed, ast.Call | ast.Name | ast.Attribute)
    return False


def _bases_kept(item: Any, cls: Any, tree: ast.Module, view: TreeView) -> bool:
    if cls is None:
        return False
    old_bases = {base_name(x) for x in (item.old_value or ())}
    new_bases = {base_name(x) for x in (item.new_value or ())}
    for base in old_bases - new_bases:
        if base == "object":  # `class X(object)` -> `class X`: every class derives from object
            continue
        if derives(view, cls, base):
            continue
        shim = served_by_getattr(tree, tree.body, base)
        if shim is not None and shim.how == "deprecated":
            continue
        return False
    return True
