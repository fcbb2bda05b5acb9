"""A removed method that only refused to work took nothing from its callers.

A method whose body (after its docstring) is one ``raise NotImplementedError`` or ``raise
TypeError(...)`` (``Item.__getitem__`` raising "does not support item access", an abstract
method's stub) could not be called successfully: removing it changes, at most, the exception a
caller gets (a special method's TypeError is Python's own default). Its removal is low, never a
critical break.
"""

from __future__ import annotations

import ast

from controlroom.agents.impact.api import ApiBreak
from controlroom.agents.impact.resolve import scope_of
from controlroom.agents.impact.structure import FUNCTIONS
from controlroom.core.model import Severity
from controlroom.core.toolkit.parsing import parse

REFUSALS = frozenset({"NotImplementedError", "TypeError"})


def only_refused(tree: ast.Module, symbol: str) -> str | None:
    """The exception the method ``symbol`` (``Class.method``) does nothing but raise, or None."""
    *holder, name = symbol.split(".")
    scope = scope_of(tree, holder) if holder else None
    node = next((s for s in scope or [] if isinstance(s, FUNCTIONS) and s.name == name), None)
    if node is None:
        return None
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return None
    raised = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return raised.id if isinstance(raised, ast.Name) and raised.id in REFUSALS else None


def stubs_removed(module: str, breaks: list[ApiBreak], old_text: str) -> None:
    """Rank low each critical removal of a method the parent's ``old_text`` shows only raised."""
    methods = [
        b for b in breaks
        if b.kind == "OBJECT_REMOVED" and b.severity is Severity.CRITICAL and "." in b.symbol
    ]  # fmt: skip
    if not methods:
        return
    try:
        tree = parse(old_text, module)
    except (SyntaxError, ValueError, RecursionError):
        return
    for b in methods:
        raised = only_refused(tree, b.symbol)
        if raised is not None:
            b.severity = Severity.LOW
            b.message += f" (it only raised {raised}: no caller could use it)"
            b.details["only_raised"] = raised
