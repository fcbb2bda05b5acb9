"""Deprecations a commit adds to a module's public API.

A new ``warnings.warn(..., DeprecationWarning | PendingDeprecationWarning | FutureWarning |
<a project subclass of one>)`` in a public function or method, on the commit's changed lines, or a
new ``@deprecated(...)`` decorator (``warnings``/``typing_extensions``/the ``deprecated``
package). A new deprecation warning without ``stacklevel`` (or with ``stacklevel=1``) points the
user at the library's own line instead of their call: a finding of its own.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from controlroom.agents.impact.api import ApiBreak
from controlroom.agents.impact.resolve import DEPRECATION_CATEGORIES, TreeView, getattr_names
from controlroom.core.model import Severity
from controlroom.core.toolkit.parsing import parse

PUBLIC_DUNDERS = {"__init__", "__new__", "__call__", "__init_subclass__", "__getattr__"}
MAX_TEXT = 160


@dataclass(slots=True)
class Deprecation:
    """One deprecation in the new text of a module."""

    qualname: str  # "Client.send", "helper"
    line: int
    category: str  # "DeprecationWarning", or "@deprecated"
    text: str  # the warning's message, as written
    stacklevel: bool  # the warn call sets stacklevel >= 2 (always True for a decorator)
    via: str  # "warn" or "decorator"
    parameter: str | None = None  # the warning is about this parameter (its ``if`` tests it)
    conditional: bool = False  # the warning sits under an ``if``/``try``/loop
    call_line: int = 0  # the ``warn(`` call's first line (where a linter flags it)


def _public(name: str) -> bool:
    return not name.startswith("_") or name in PUBLIC_DUNDERS


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Public functions and methods of public classes, with their dotted names."""

    def walk(body: list[ast.stmt], prefix: str) -> Iterator[tuple[str, ast.AST]]:
        for stmt in body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and _public(stmt.name):
                yield prefix + stmt.name, stmt
            elif isinstance(stmt, ast.ClassDef) and not stmt.name.startswith("_"):
                yield prefix + stmt.name, stmt
                yield from walk(stmt.body, f"{prefix}{stmt.name}.")

    yield from walk(tree.body, "")  # type: ignore[misc]


def _warn_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(names bound to the ``warnings`` module, names bound to ``warnings.warn``)."""
    modules, functions = {"warnings"}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "warnings":
                    modules.add(alias.asname or "warnings")
        elif isinstance(node, ast.ImportFrom) and node.module == "warnings":
            for alias in node.names:
                if alias.name == "warn":
                    functions.add(alias.asname or "warn")
    return modules, functions


def _is_warn(call: ast.Call, modules: set[str], functions: set[str]) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "warn":
        return isinstance(func.value, ast.Name) and func.value.id in modules
    return isinstance(func, ast.Name) and func.id in functions


def _text(node: ast.expr | None) -> str:
    if node is None:
        return ""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    else:
        text = ast.unparse(node)
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def _stacklevel(call: ast.Call) -> bool:
    """Whether the call points the warning at a caller (stacklevel >= 2, or computed)."""
    level: ast.expr | None = None
    for kw in call.keywords:
        if kw.arg == "stacklevel":
            level = kw.value
    if level is None and len(call.args) > 2:
        level = call.args[2]
    if level is None:
        return False
    return not (isinstance(level, ast.Constant) and level.value in (0, 1))


def _category(call: ast.Call) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == "category":
            return kw.value
    return call.args[1] if len(call.args) > 1 else None


def _decorator_message(decorator: ast.expr) -> tuple[bool, str]:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = ast.unparse(target).rpartition(".")[2]
    if name != "deprecated":
        return False, ""
    args = decorator.args if isinstance(decorator, ast.Call) else []
    reason = next(
        (kw.value for kw in getattr(decorator, "keywords", ()) if kw.arg == "reason"), None
    )
    return True, _text(args[0] if args else reason)


def find(text: str, is_deprecation: Callable[[str], bool]) -> list[Deprecation]:
    """Every deprecation in ``text`` (not only new ones). ``is_deprecation`` judges a category
    that is not one of the built-in deprecation warnings (e.g. a project's own subclass)."""
    tree = parse(text, "<module>")  # locked: other threads parse too
    modules, functions = _warn_names(tree)
    out: list[Deprecation] = []
    for qualname, node in _functions(tree):
        for decorator in getattr(node, "decorator_list", ()):
            found, reason = _decorator_message(decorator)
            if found:
                out.append(
                    Deprecation(
                        qualname, decorator.lineno, "@deprecated", reason, True, "decorator"
                    )
                )
        if isinstance(node, ast.ClassDef):
            continue
        parents = {
            child: parent for parent in ast.walk(node) for child in ast.iter_child_nodes(parent)
        }
        for call in ast.walk(node):
            if not isinstance(call, ast.Call) or not _is_warn(call, modules, functions):
                continue
            category, message = _category(call), call.args[0] if call.args else None
            if category is None and isinstance(message, ast.Call):  # warn(Category("text"))
                category, message = message.func, message.args[0] if message.args else None
            name = ast.unparse(category) if category is not None else "UserWarning"
            if name.rpartition(".")[2] not in DEPRECATION_CATEGORIES and not is_deprecation(name):
                continue
            message = _assigned(node, message, call.lineno)
            out.append(
                Deprecation(
                    qualname,
                    _message_line(call),
                    name.rpartition(".")[2],
                    _text(message),
                    _stacklevel(call),
                    "warn",
                    *_subject(node, call, parents),
                    call_line=call.lineno,
                )
            )
    return out


def _assigned(function: ast.AST, message: ast.expr | None, before: int) -> ast.expr | None:
    """The text a ``warn(message, ...)`` variable holds: its last assignment in the function
    before the call (``message = ("The 'app' shortcut is now deprecated." ...)``)."""
    if not isinstance(message, ast.Name):
        return message
    found: ast.expr | None = None
    line = 0
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Assign)
            and line < node.lineno < before
            and any(isinstance(t, ast.Name) and t.id == message.id for t in node.targets)
        ):
            found, line = node.value, node.lineno
    return found if found is not None else message


def _message_line(call: ast.Call) -> int:
    """The line of the warning's text: two warnings of one function (``repr_ns``, ``hash``)
    are two findings, not one (the flagged line feeds the fingerprint)."""
    for node in ast.walk(call):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.lineno
    return call.lineno


def _subject(
    function: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.AST, parents: dict[ast.AST, ast.AST]
) -> tuple[str | None, bool]:
    """(the parameter an enclosing ``if`` tests, whether the call is conditional at all)."""
    args = function.args
    params = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    kwargs = args.kwarg.arg if args.kwarg else None
    node, conditional = call, False
    while node in parents and node is not function:
        node = parents[node]
        if isinstance(node, ast.If | ast.IfExp | ast.Try | ast.For | ast.While | ast.With):
            conditional = True
        if not isinstance(node, ast.If | ast.IfExp):
            continue
        tested = list(ast.walk(node.test))
        reads_kwargs = any(isinstance(m, ast.Name) and m.id == kwargs for m in tested)
        for n in tested:
            if isinstance(n, ast.Name) and n.id in params and n.id not in ("self", "cls"):
                return n.id, True
            if reads_kwargs and isinstance(n, ast.Constant) and str(n.value).isidentifier():
                return str(n.value), True
    return None, conditional


def added(
    old_text: str,
    new_text: str,
    touches: Callable[[int], bool],
    is_deprecation: Callable[[str], bool],
) -> list[Deprecation]:
    """Deprecations of ``new_text`` on touched lines that ``old_text`` did not have (the same
    function with the same message and category)."""
    if not _mentions(new_text, touches):
        return []
    try:
        found = [d for d in find(new_text, is_deprecation) if touches(d.line)]
    except (SyntaxError, ValueError, RecursionError):
        return []
    if not found:
        return []
    try:
        before = find(old_text, is_deprecation)
    except (SyntaxError, ValueError, RecursionError):
        before = []
    return [d for d in found if not any(_same(d, o) for o in before)]


def _mentions(text: str, touches: Callable[[int], bool]) -> bool:
    """Whether a touched line could hold a warning call or a decorator (``warn``, ``deprecat``):
    a commit without one is not parsed at all."""
    for number, line in enumerate(text.splitlines(), 1):
        lowered = line.lower()
        if ("warn" in lowered or "deprecat" in lowered) and touches(number):
            return True
    return False


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z_]{3,}", text)}


def _same(new: Deprecation, old: Deprecation) -> bool:
    """The same warning, maybe reworded or reformatted (``.format`` -> f-string)."""
    if (new.qualname, new.category) != (old.qualname, old.category):
        return False
    if new.parameter and old.parameter and new.parameter != old.parameter:
        return False  # two parameters of one function deprecated: two deprecations
    a, b = _words(new.text), _words(old.text)
    return a == b or len(a & b) >= 0.6 * max(len(a | b), 1)


# Deprecation categories named by the common conventions (``RemovedInDjango51Warning``,
# ``RemovedInSphinx80Warning``, ``PytestRemovedIn9Warning``, ``MyDeprecationWarning``): known by
# name even when the class is gone from the tree (a release removes it with what it announced).
CONVENTIONAL = re.compile(r"(Deprecat\w*|RemovedIn\w*)Warning$")


def category_judge(tree_view: TreeView, module: str) -> Callable[[str], bool]:
    """Whether a category named in ``module`` is a project class deriving from a deprecation
    warning (resolved in the module, then through its imports in the repository)."""
    from controlroom.agents.impact.resolve import subclass_of

    cache: dict[str, bool] = {}

    def judge(name: str) -> bool:
        if name not in cache:
            cache[name] = bool(CONVENTIONAL.search(name.rpartition(".")[2])) or subclass_of(
                tree_view, module, name, DEPRECATION_CATEGORIES
            )
        return cache[name]

    return judge


def as_breaks(module: str, found: list[Deprecation], shimmed: list[str]) -> list[ApiBreak]:
    """IMP105 for each new deprecation; IMP106 for a new warning without a useful stacklevel.
    The module's ``__getattr__`` is one IMP105 for the names it serves (``shimmed``: those not
    already reported where they were removed)."""
    out: list[ApiBreak] = []
    for d in found:
        full = f"{module}.{d.qualname}"
        said = f': "{d.text}"' if d.text else ""
        how = "a @deprecated decorator" if d.via == "decorator" else f"a new {d.category}"
        details: dict[str, Any] = {
            "kind": "deprecation",
            "breakage": "API_DEPRECATED",
            "category": d.category,
            "parameter": d.parameter,
        }
        if d.parameter:
            message = f"parameter {d.parameter!r} of {full} is deprecated ({how}){said}"
        elif d.conditional:
            message = f"{full} deprecates a use ({how}){said}"
        else:
            message = f"{full} is deprecated ({how}){said}"
        if d.qualname == "__getattr__":
            if not shimmed:
                message = ""
            else:
                names = ", ".join(f"{module}.{n}" for n in shimmed)
                message = f"{names} deprecated: the module's __getattr__ now warns ({d.category})"
                details["deprecated"] = list(shimmed)
                shimmed = []  # one finding for the module
        if message:
            out.append(
                ApiBreak(
                    "IMP105", Severity.MEDIUM, "API_DEPRECATED", d.qualname, full, d.line, None,
                    message, {**details, "text": d.text},
                )
            )  # fmt: skip
    for d in found:  # one per warning, on the call's line: ruff's B028 there is the same problem
        if d.stacklevel:
            continue
        full = f"{module}.{d.qualname}"
        out.append(
            ApiBreak(
                "IMP106", Severity.MEDIUM, "DEPRECATION_NO_STACKLEVEL", d.qualname, full,
                d.call_line or d.line, None, f"{d.category} without stacklevel blames the "
                f"library, not the caller, in {full}; pass stacklevel=2 (or more) so users see "
                "their own call",
                {"kind": "deprecation", "breakage": "DEPRECATION_NO_STACKLEVEL",
                 "category": d.category, "functions": [d.qualname]},
            )
        )  # fmt: skip
    return out


def announced(old_text: str, is_deprecation: Callable[[str], bool]) -> set[str]:
    """Names ``old_text`` already deprecated ("Client" for a warning in ``Client.__init__``)."""
    lowered = old_text.lower()
    if "warn" not in lowered and "deprecat" not in lowered:
        return set()
    try:
        found = find(old_text, is_deprecation)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    names = {d.qualname for d in found}
    return names | {n.rpartition(".")[0] for n in names if n.endswith((".__init__", ".__new__"))}


def soften_announced(
    breaks: list[ApiBreak], old_text: str, is_deprecation: Callable[[str], bool]
) -> None:
    """A removal the parent announced with a deprecation is the deprecation's planned end: its
    callers were warned for a release, so it is low (as a removal the changelog announces)."""
    if not any(b.kind == "OBJECT_REMOVED" and b.severity is Severity.CRITICAL for b in breaks):
        return
    names = announced(old_text, is_deprecation)
    for b in breaks:
        if b.kind != "OBJECT_REMOVED" or b.severity is not Severity.CRITICAL:
            continue
        parts = b.symbol.split(".")
        if any(".".join(parts[:i]) in names for i in range(1, len(parts) + 1)):
            b.severity = Severity.LOW
            b.message += " (it was deprecated in the parent: an announced removal)"
            b.details["announced"] = True


def shim_names(text: str) -> list[str]:
    """The names the module-level ``__getattr__`` of ``text`` answers for."""
    try:
        return list(getattr_names(parse(text, "<module>")))
    except (SyntaxError, ValueError, RecursionError):
        return []
