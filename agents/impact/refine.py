"""griffe's breakages judged against the new tree: what a caller would really notice.

- a Python 2 protocol method removed (``__unicode__``, ``__nonzero__``): low;
- a member removed from a class but inherited from a base: no finding (a base outside the
  repository: "may still be inherited", medium); a class attribute whose subclass, in a module
  the commit changed, now sets it on every instance (``self.parent = None`` in ``__init__``): low;
- a name removed but served by a ``__getattr__`` (class or module) with a warning: a deprecation
  (IMP105, medium); served without a warning: no finding;
- parameter breakages that break no caller (``impact_signatures.judge``), or of a function that
  always raises: none, or a deprecation;
- structure changes no caller can observe (``impact_structure``): a base class removed but still
  inherited through a new base (or now a deprecated name), an attribute bound to a call that became
  a ``def``, a name still defined with its old kind in another branch: none.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from controlroom.agents.impact import signatures as impact_signatures
from controlroom.agents.impact import structure as impact_structure
from controlroom.agents.impact.instances import set_on_subclass_instances
from controlroom.agents.impact.resolve import TreeView, inherited, scope_of, served_by_getattr
from controlroom.core.model import Severity

if TYPE_CHECKING:
    from controlroom.agents.impact.api import ApiBreak

DEPRECATED_RULE = "IMP105"
RARELY_POSITIONAL = 3  # a caller's 4th positional argument and later: passed by keyword in practice
# Special methods of Python 2's data model: Python 3 never calls them, so removing one from a
# class breaks only a caller that calls it by name.
PYTHON2_PROTOCOL = {
    "__unicode__", "__nonzero__", "__cmp__", "__coerce__", "__div__", "__rdiv__", "__idiv__",
    "__getslice__", "__setslice__", "__delslice__", "__long__", "__oct__", "__hex__",
    "__metaclass__",
}  # fmt: skip
PARAMETER_KINDS = {
    "PARAMETER_REMOVED",
    "PARAMETER_ADDED_REQUIRED",
    "PARAMETER_CHANGED_KIND",
    "PARAMETER_CHANGED_DEFAULT",
}


def private(symbol: str) -> bool:
    return any(p.startswith("_") and not p.endswith("__") for p in symbol.split("."))


def refine(
    b: ApiBreak,
    item: Any,
    old: Any,
    new: Any,
    tree: ast.Module | None,
    view: TreeView,
) -> ApiBreak | None:
    """``b`` as a caller would see it: itself, a deprecation, a lower severity, or None."""
    if b.symbol != "<module>" and private(b.symbol):
        return None
    if b.kind == "OBJECT_REMOVED":
        return _removed(b, new, tree, view)
    if b.kind in impact_structure.KINDS:
        return None if impact_structure.unobservable(b, item, old, new, tree, view) else b
    if b.kind == "PARAMETER_MOVED" and item.old_value is not None:
        return _moved(b, impact_structure.walk(old, b.symbol), item.old_value)
    if b.kind in PARAMETER_KINDS:
        if tree is not None and impact_structure.raises_only(tree, b.symbol):
            return None
        old_fn = impact_structure.walk(old, b.symbol)
        verdict = impact_signatures.judge(b.kind, old_fn, item.obj, item.old_value, item.new_value)
        if verdict == "drop":
            return None
        if verdict == "deprecated":
            name = item.old_value.name
            return replace(
                b,
                rule=DEPRECATED_RULE,
                severity=Severity.MEDIUM,
                kind="API_DEPRECATED",
                message=f"{b.object_path}: keyword argument {name!r} left the signature but is "
                "still accepted through **kwargs (a deprecation, not a break)",
                details={**b.details, "deprecated": name, "via": "**kwargs"},
            )
    return b


def _removed(b: ApiBreak, new: Any, tree: ast.Module | None, view: TreeView) -> ApiBreak | None:
    holder_path, _, name = b.symbol.rpartition(".")
    if holder_path and name in PYTHON2_PROTOCOL:
        return replace(
            b,
            severity=Severity.LOW,
            message=f"{b.message}: a Python 2 protocol method ({name}) that Python 3 never calls",
        )
    holder = impact_structure.walk(new, holder_path) if holder_path else new
    if holder is None:
        return b
    if tree is not None:
        scope = scope_of(tree, holder_path.split(".") if holder_path else [])
        shim = served_by_getattr(tree, scope, name) if scope is not None else None
        if shim is not None and shim.how == "served":
            return None
        if shim is not None:
            where = f"{holder_path}.__getattr__" if holder_path else "the module's __getattr__"
            return replace(
                b,
                rule=DEPRECATED_RULE,
                severity=Severity.MEDIUM,
                kind="API_DEPRECATED",
                line=shim.line or b.line,
                in_parent=False,
                message=f"{b.object_path} is deprecated, not removed: no longer defined but "
                f"still served by {where}, which warns ({shim.category})",
                details={**b.details, "deprecated": name, "via": "__getattr__"},
            )
    if getattr(holder, "is_class", False):
        found = inherited(view, holder, name)
        if found is not None and found.how == "inherited":
            return None
        moved = (
            set_on_subclass_instances(view, holder.name, name)
            if b.details.get("kind") == "attribute"
            else None
        )
        if moved is not None:  # a class-level default moved to the instances: only a read
            return replace(  # from the class itself breaks
                b,
                severity=Severity.LOW,
                message=f"{b.message} from the class, but {moved.source} sets it on every "
                "instance: only a read from the class itself breaks",
                details={**b.details, "set_on_instances_at": moved.source},
            )
        if found is not None:
            return replace(
                b,
                severity=Severity.MEDIUM,
                message=f"{b.message} from {holder_path}; it may still be inherited from "
                f"{found.source} (a base this analysis cannot read)",
                details={**b.details, "maybe_inherited_from": found.source},
            )
    return b


def _moved(b: ApiBreak, old_fn: Any, param: Any) -> ApiBreak:
    """``b`` with the moved parameter's place among the arguments a caller passes (``self`` and
    ``cls`` not counted); an optional one a caller would pass as its fourth or later positional
    argument is low: such calls are rare, and by keyword every call works."""
    names = [p.name for p in getattr(old_fn, "parameters", ()) if p.name not in ("self", "cls")]
    if param.name not in names:
        return b
    position = names.index(param.name)
    moved = replace(b, details={**b.details, "position": position})
    if position >= RARELY_POSITIONAL and not param.required:
        return replace(moved, severity=Severity.LOW)
    return moved


def grouped(breaks: list[ApiBreak]) -> list[ApiBreak]:
    """One finding per function for its signature breaks (a parameter inserted moves every later
    one), and one per ``__getattr__`` for the names it serves with a warning."""
    order: list[tuple[str, str]] = []
    groups: dict[tuple[str, str], list[ApiBreak]] = {}
    for i, b in enumerate(breaks):
        if b.rule == "IMP102":
            key = ("sig", b.symbol)
        elif b.kind == "API_DEPRECATED" and b.details.get("via") == "__getattr__":
            key = ("shim", b.symbol.rpartition(".")[0])
        else:
            key = ("one", str(i))
        if key not in groups:
            order.append(key)
        groups.setdefault(key, []).append(b)
    merge = {"sig": _merge_signature, "shim": _merge_shim, "one": lambda items: items[0]}
    return [merge[key[0]](groups[key]) for key in order]


def _merge_signature(items: list[ApiBreak]) -> ApiBreak:
    if len(items) == 1:
        return items[0]
    first = items[0]
    moved = [str(b.details.get("old") or "") for b in items]
    if all(b.kind == "PARAMETER_MOVED" for b in items) and all("=" in m for m in moved):
        # A parameter inserted before optional ones: only calls passing an optional parameter
        # by position break (medium); by keyword every call still works.
        names = [m.partition("=")[0] for m in moved]
        position = min(int(b.details.get("position", 0)) for b in items)
        ceiling = Severity.LOW if position >= RARELY_POSITIONAL else Severity.MEDIUM
        return replace(
            first,
            severity=min(first.severity, ceiling, key=lambda s: s.rank),
            message=f"{first.object_path}: {len(items)} optional parameters moved one place or "
            f"more ({', '.join(names)}): a call passing {names[0]} or a later one by position "
            "breaks; calls by keyword still work",
            details={**first.details, "changes": [b.details for b in items]},
        )
    by_kind: dict[str, list[str]] = {}
    for b in items:
        what = b.message.partition(": ")[2].partition(": ")[0] or b.kind.lower()
        by_kind.setdefault(what, []).append(b.details.get("old") or b.details.get("new") or "?")
    parts = "; ".join(f"{what}: {', '.join(names)}" for what, names in by_kind.items())
    return replace(
        first,
        message=f"{first.object_path}: {len(items)} parameter changes break callers ({parts})",
        details={**first.details, "changes": [b.details for b in items]},
    )


def _merge_shim(items: list[ApiBreak]) -> ApiBreak:
    if len(items) == 1:
        return items[0]
    first = min(items, key=lambda b: b.line)
    names = [b.details["deprecated"] for b in items]
    holder = first.object_path.rpartition(".")[0]
    category = first.message.rpartition("which warns ")[2]
    return replace(
        first,
        message=f"{len(names)} names of {holder} are deprecated, not removed: no longer defined "
        f"but still served by its __getattr__, which warns {category}: {', '.join(names)}",
        details={**first.details, "deprecated": names},
    )
