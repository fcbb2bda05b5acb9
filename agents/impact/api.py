"""Public API breaking changes between a commit's parent and the commit, with griffe.

Only the changed modules are compared, each loaded from the change set's old and new text with
``griffe.visit`` (no import, no whole-tree load). The parent's API of a module is cached by the hash
of its text (``api:<sha1>`` in the agent cache, griffe's JSON form), so the module a commit changed
is not parsed again when the next commit changes it. Names that point outside the package (aliases
griffe cannot resolve) never stop the comparison. griffe's breakages are then judged against the
new tree (``impact_refine``: inherited members, ``__getattr__`` shims, signature changes no caller
notices) and grouped (one finding per function, per shim).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import griffe

from controlroom.agents.impact.refine import grouped, refine
from controlroom.agents.impact.resolve import TreeView
from controlroom.core.model import Severity
from controlroom.core.toolkit.parsing import parse

logging.getLogger("griffe").setLevel(logging.ERROR)

REMOVED_CRITICAL_KINDS = {"function", "class", "module"}
RULES = {
    "OBJECT_REMOVED": "IMP101",
    "PARAMETER_REMOVED": "IMP102",
    "PARAMETER_ADDED_REQUIRED": "IMP102",
    "PARAMETER_CHANGED_REQUIRED": "IMP102",
    "PARAMETER_CHANGED_KIND": "IMP102",
    "PARAMETER_MOVED": "IMP102",
    "PARAMETER_CHANGED_DEFAULT": "IMP103",
}


@dataclass(slots=True)
class ApiBreak:
    """One breaking change, located in the new file, or in the parent's file (``in_parent``) for
    an object that is gone: its old line would show unrelated code in the new file."""

    rule: str
    severity: Severity
    kind: str  # griffe's BreakageKind name
    symbol: str  # dotted, relative to the module: "Model.save"
    object_path: str  # full dotted path: "pkg.mod.Model.save"
    line: int
    old_line: int | None
    message: str
    details: dict[str, Any]
    in_parent: bool = False


def break_to_dict(b: ApiBreak) -> dict[str, Any]:
    """A JSON-able form of ``b`` for the agent cache."""
    out = asdict(b)
    out["severity"] = b.severity.value
    return out


def break_from_dict(data: dict[str, Any]) -> ApiBreak:
    return ApiBreak(**{**data, "severity": Severity(data["severity"])})


def text_key(text: str) -> str:
    return "api:" + hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def load_module(module: str, path: str, text: str) -> griffe.Module:
    """The griffe API of one module from its text (never imported)."""
    parent_name, _, name = module.rpartition(".")
    parent = None
    if parent_name:
        parent = griffe.Module(parent_name, filepath=Path(path).parent / "__init__.py")
    return griffe.visit(name or module, filepath=Path(path), code=text, parent=parent)


def to_cache(module: griffe.Module) -> str | None:
    try:
        return module.as_json(full=False)
    except Exception:  # griffe cannot serialise some objects: then do not cache
        return None


def from_cache(raw: str) -> griffe.Module | None:
    try:
        loaded = json.loads(raw, object_hook=griffe.json_decoder)
    except Exception:
        return None
    return loaded if isinstance(loaded, griffe.Module) else None


def breaking_changes(
    module: str,
    old: griffe.Module,
    new: griffe.Module | None,
    new_text: str | None,
    view: TreeView | None = None,
) -> list[ApiBreak]:
    """Breaking changes of ``module`` from ``old`` to ``new`` (None: the module was removed),
    judged against the new tree ``view`` (inherited members, shims; None: this module only)."""
    if new is None:
        return [
            ApiBreak(
                rule="IMP101",
                severity=Severity.CRITICAL,
                kind="OBJECT_REMOVED",
                symbol="<module>",
                object_path=module,
                line=1,
                old_line=1,
                message=f"public module {module} was removed",
                details={"kind": "module"},
                in_parent=True,
            )
        ]
    try:
        breakages = list(griffe.find_breaking_changes(old, new))
    except Exception:  # AliasResolutionError & co. on names outside the package
        breakages = _guarded(old, new)
    if view is None:
        view = TreeView(lambda _name: None)
    view.add(module, new)
    tree = None
    if new_text is not None and breakages:
        try:  # the new text judges breakages (shims, bodies that only raise, other branches)
            tree = parse(new_text, module)  # locked: other threads parse too
        except (SyntaxError, ValueError, RecursionError):
            tree = None
    out = []
    for item in breakages:
        described = _describe(module, item)
        if described is None:
            continue
        try:
            refined = refine(described, item, old, new, tree, view)
        except Exception:  # griffe could not answer for this object: keep griffe's word
            refined = described
        if refined is not None:
            out.append(refined)
    return grouped(out)


def _guarded(old: griffe.Module, new: griffe.Module) -> list[Any]:
    """Member by member, skipping members whose comparison trips over an unresolvable alias."""
    out: list[Any] = []
    for name, member in old.members.items():
        try:
            if not _safe_public(member, old):
                continue
            if name not in new.members:
                # griffe hints Object; an Alias member works the same (its path, name, kind)
                out.append(griffe.ObjectRemovedBreakage(member, member, None))  # type: ignore[arg-type]
                continue
            other = new.members[name]
            if member.is_alias or other.is_alias:
                continue
            if member.is_function and other.is_function:
                holder_old, holder_new = griffe.Module("_old"), griffe.Module("_new")
                holder_old.set_member(name, member)
                holder_new.set_member(name, other)
                out.extend(griffe.find_breaking_changes(holder_old, holder_new))
            elif member.is_class and other.is_class:
                out.extend(griffe.find_breaking_changes(member, other))
        except Exception:  # one member griffe cannot compare: skip it, keep the rest
            continue
    return out


def _safe_public(member: Any, module: griffe.Module) -> bool:
    try:
        return bool(member.is_public)
    except Exception:  # an alias griffe cannot resolve: public only when exported
        exports = getattr(module, "exports", None)
        return bool(exports and member.name in exports)


def _relative(obj: Any, module: str) -> tuple[str, str]:
    """(symbol relative to the module, full dotted path) without resolving aliases."""
    parts: list[str] = []
    node = obj
    while node is not None and not isinstance(node, griffe.Module):
        parts.append(node.name)
        node = node.parent
    symbol = ".".join(reversed(parts)) or "<module>"
    return symbol, f"{module}.{symbol}" if symbol != "<module>" else module


def _kind_of(obj: Any) -> str:
    if getattr(obj, "is_alias", False):
        return "alias"
    kind = getattr(obj, "kind", None)
    return getattr(kind, "value", str(kind))


def _describe(module: str, item: Any) -> ApiBreak | None:
    try:
        kind = item.kind.name
        symbol, full = _relative(item.obj, module)
        obj_kind = _kind_of(item.obj)
        is_alias = getattr(item.obj, "is_alias", False)
        old_line = getattr(item.obj, "alias_lineno", None) if is_alias else item.obj.lineno
    except Exception:  # griffe could not describe the object: drop this one breakage
        return None
    rule = RULES.get(kind, "IMP104")
    details: dict[str, Any] = {"kind": obj_kind, "breakage": kind}
    if kind == "OBJECT_REMOVED":
        severity = Severity.CRITICAL if obj_kind in REMOVED_CRITICAL_KINDS else Severity.HIGH
        message = f"public {obj_kind} {full} was removed"
        return ApiBreak(
            rule, severity, kind, symbol, full, old_line or 1, old_line, message, details, True
        )
    severity = Severity.MEDIUM if rule in ("IMP103", "IMP104") else Severity.HIGH
    old_value, new_value = _value(item.old_value), _value(item.new_value)
    details.update(old=old_value, new=new_value)
    if old_value and new_value:
        change = f": {old_value} -> {new_value}"
    else:
        change = f": {old_value or new_value}" if old_value or new_value else ""
    message = f"{full}: {item.kind.value.lower()}{change}"
    line = old_line or 1
    return ApiBreak(rule, severity, kind, symbol, full, line, old_line, message, details)


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, griffe.Parameter):
        default = f"={value.default}" if value.default is not None else ""
        return f"{value.name}{default}"
    if isinstance(value, list):
        return "[" + ", ".join(str(getattr(v, "name", v)) for v in value) + "]"
    return str(getattr(value, "value", value))
