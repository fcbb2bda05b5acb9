"""A module's ``__getattr__`` is not API; the names it serves are.

A module-level ``__getattr__`` (or ``__dir__``) that leaves a module is no removal of its own;
what callers lose are the names it answered for (``__version__`` served with a
DeprecationWarning) that the new module neither defines nor serves: one removal listing them.
``__getattr__ = factory(__name__)`` (a module function defining the nested ``__getattr__``) counts.
Deprecations are reported once per name: a package's ``__init__`` shim and the defining module's
shim often serve the same name (``one_per_name``).
"""

from __future__ import annotations

import ast
from typing import Any

from controlroom.agents.impact.api import ApiBreak
from controlroom.agents.impact.resolve import getattr_names, served_by_getattr
from controlroom.core.model import Finding, Severity
from controlroom.core.toolkit.parsing import parse

HOOKS = {"__getattr__", "__dir__"}


def _parse(text: str | None) -> ast.Module | None:
    if not text or "__getattr__" not in text:
        return None
    try:
        return parse(text, "<module>")  # locked: other threads parse too
    except (SyntaxError, ValueError, RecursionError):
        return None


def served_names_removed(
    module: str, breaks: list[ApiBreak], old_text: str, new: Any, new_text: str | None
) -> list[ApiBreak]:
    """``breaks`` without the removal of module-level hooks, plus one removal per name the old
    ``__getattr__`` served that the new module neither defines nor serves."""
    kept = [b for b in breaks if not (b.kind == "OBJECT_REMOVED" and b.symbol in HOOKS)]
    old_tree = _parse(old_text)
    if old_tree is None:
        return kept
    new_tree = _parse(new_text)
    still = set(getattr_names(new_tree)) if new_tree is not None else set()
    members = set(getattr(new, "members", {}) or {}) if new is not None else set()
    gone = [
        (name, line)
        for name, line in getattr_names(old_tree).items()
        if name not in still and name not in members and name not in HOOKS
    ]
    if not gone:
        return kept
    name, line = gone[0]
    shim = served_by_getattr(old_tree, old_tree.body, name)
    warned = f" with a {shim.category}" if shim is not None and shim.category else ""
    announced = " (it was deprecated before: an announced removal)" if warned else ""
    names = [n for n, _ in gone]
    if len(names) == 1:
        what = f"public attribute {module}.{name} was removed"
    else:
        what = f"{len(names)} public attributes of {module} were removed ({', '.join(names)})"
    kept.append(
        ApiBreak(
            "IMP101", Severity.LOW if warned else Severity.HIGH, "OBJECT_REMOVED", name, f"{module}.{name}", line, line,
            f"{what}: the module's __getattr__ served them{warned} and no longer does{announced}"
            if len(names) > 1
            else f"{what}: the module's __getattr__ served it{warned} and no longer does{announced}",
            {"kind": "attribute", "breakage": "OBJECT_REMOVED", "via": "__getattr__",
             "announced": bool(warned), "removed": names},
            True,
        )
    )  # fmt: skip
    return kept


def _names(f: Finding) -> list[str]:
    api = f.extra.get("api") or {}
    names = api.get("deprecated")
    if isinstance(names, str):
        return [names]
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def one_per_name(findings: list[Finding]) -> list[Finding]:
    """A shim deprecation (IMP105 naming served names) whose every name an earlier shim of a
    shallower module (the package users import) already reports is dropped."""
    shims = [f for f in findings if f.rule == "IMP105" and _names(f)]
    shims.sort(key=lambda f: (str(f.extra.get("object_path", "")).count("."), f.path, f.line))
    seen: set[str] = set()
    dropped: set[int] = set()
    for f in shims:
        names = set(_names(f))
        if names <= seen:
            dropped.add(id(f))
        seen |= names
    return [f for f in findings if id(f) not in dropped]
