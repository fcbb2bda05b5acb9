"""Which of griffe's parameter breakages break a caller, judged with both signatures at hand.

griffe matches parameters by name, so it reports changes no caller can notice: renaming a
parameter that could never be passed by keyword (positional-only, ``__x`` by the old
convention for positional-only, or a private ``_x``), renaming ``*args``/``**kwargs``, ``*args``
narrowed to optional positional parameters (``*args`` -> ``arg=None, /``), ``self`` made
positional-only by a ``/``, removing a private ``_x`` parameter, a positional-only parameter made
explicit where the old signature took ``*args`` (``(*args)`` -> ``(__self, __callback, *args)``),
and swapping a "use the default" sentinel for ``None``. A keyword removed from a function that
now takes ``**kwargs`` is still accepted: a deprecation at most, never a break. A function that always raises (its body only
raises, or calls a helper that does, or it is annotated ``NoReturn``) breaks no caller whatever
its signature (``always_raises``).
"""

from __future__ import annotations

import ast
from typing import Any, Literal

from griffe import ParameterKind

Verdict = Literal["keep", "drop", "deprecated"]

VARIADIC = {ParameterKind.var_positional, ParameterKind.var_keyword}
POSITIONAL = {ParameterKind.positional_only, ParameterKind.positional_or_keyword}


def private(param: Any) -> bool:
    """A ``_name`` or ``__name`` parameter: no caller is meant to pass it by keyword."""
    return param.name.startswith("_") and not param.name.endswith("__")


def positional_only(param: Any) -> bool:
    """Whether no caller passes ``param`` by keyword (``/``, or a ``_name``/``__name``
    parameter, positional in practice)."""
    if param.kind is ParameterKind.positional_only:
        return True
    return param.kind is ParameterKind.positional_or_keyword and private(param)


def _receiver(function: Any, param: Any) -> bool:
    """``param`` is the ``self``/``cls`` of a method (its first parameter)."""
    params = list(function.parameters)
    return bool(params) and params[0].name == param.name and param.name in ("self", "cls")


def _narrowed(old_fn: Any, new_fn: Any, star: Any) -> bool:
    """``*args`` became optional positional parameters at its place (``arg=None, /``)."""
    index = _index(old_fn, star.name)
    if index is None:
        return False
    rest = list(new_fn.parameters)[index:]
    taken = [p for p in rest if p.kind in POSITIONAL]
    return bool(taken) and all(not p.required for p in taken)


def _star_before(old_fn: Any, index: int | None) -> bool:
    """The old function took ``*args`` at or before position ``index``: a positional parameter
    made explicit there (``(*args)`` -> ``(__self, __callback, *args)``) was passed already."""
    star = next(
        (i for i, p in enumerate(old_fn.parameters) if p.kind is ParameterKind.var_positional),
        None,
    )
    return index is not None and star is not None and star <= index


def _index(function: Any, name: str) -> int | None:
    for i, param in enumerate(function.parameters):
        if param.name == name:
            return i
    return None


def _renamed_positional(old_fn: Any, new_fn: Any, index: int | None) -> bool:
    """Both parameters at ``index`` are positional and the old one was positional-only."""
    if index is None:
        return False
    old_params, new_params = list(old_fn.parameters), list(new_fn.parameters)
    if index >= len(old_params) or index >= len(new_params):
        return False
    return positional_only(old_params[index]) and new_params[index].kind in POSITIONAL


def _literal(value: Any) -> bool:
    try:
        ast.literal_eval(str(value))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def default_is_cosmetic(old: Any, new: Any) -> bool:
    """``None`` or a sentinel on either side: in Python APIs both mean "use the default" (the
    function picks the real value), so callers see no change. Only a literal changed to another
    literal (``rate=0.2`` -> ``rate=0.25``) is a change callers can notice."""
    old_s, new_s = str(old), str(new)
    if "None" in (old_s, new_s):
        return True
    return not _literal(old_s) or not _literal(new_s)


def _kinds(function: Any) -> set[Any]:
    return {p.kind for p in function.parameters}


def judge(kind: str, old_fn: Any, new_fn: Any, old_value: Any, new_value: Any) -> Verdict:
    """What a parameter breakage of ``kind`` (griffe's name) really is for callers."""
    if old_fn is None or new_fn is None:
        return "keep"
    if kind == "PARAMETER_REMOVED" and old_value is not None:
        if old_value.kind in VARIADIC:
            if old_value.kind in _kinds(new_fn):
                return "drop"
            star = old_value.kind is ParameterKind.var_positional
            return "drop" if star and _narrowed(old_fn, new_fn, old_value) else "keep"
        if private(old_value):
            return "drop"
        if _renamed_positional(old_fn, new_fn, _index(old_fn, old_value.name)):
            return "drop"
        keyword = old_value.kind in (
            ParameterKind.keyword_only,
            ParameterKind.positional_or_keyword,
        )
        if keyword and not old_value.required and ParameterKind.var_keyword in _kinds(new_fn):
            return "deprecated"
        return "keep"
    if kind == "PARAMETER_ADDED_REQUIRED" and new_value is not None:
        index = _index(new_fn, new_value.name)
        if _renamed_positional(old_fn, new_fn, index):
            return "drop"
        return "drop" if positional_only(new_value) and _star_before(old_fn, index) else "keep"
    if kind == "PARAMETER_CHANGED_KIND" and old_value is not None and new_value is not None:
        if positional_only(old_value) and new_value.kind in POSITIONAL:
            return "drop"
        if _receiver(old_fn, old_value) and new_value.kind in POSITIONAL:
            return "drop"
        return "keep"
    if kind == "PARAMETER_CHANGED_DEFAULT" and old_value is not None and new_value is not None:
        return "drop" if default_is_cosmetic(old_value.default, new_value.default) else "keep"
    return "keep"


NO_RETURN = ("NoReturn", "Never")


def _returns_never(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return node.returns is not None and ast.unparse(node.returns).endswith(NO_RETURN)


def _body(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    body = node.body
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        body = body[1:]  # the docstring
    return body


def always_raises(
    node: ast.FunctionDef | ast.AsyncFunctionDef, helpers: dict[str, ast.AST] | None = None
) -> bool:
    """Whether calling ``node`` can only raise: annotated ``NoReturn``/``Never``, or a body of
    plain calls (a warning) ending in ``raise`` or in a call of a module function ``helpers``
    holds that always raises itself."""
    if _returns_never(node):
        return True
    body = _body(node)
    if not body or not all(isinstance(s, ast.Expr) for s in body[:-1]):
        return False
    last = body[-1]
    if isinstance(last, ast.Raise):
        return True
    if not (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)):
        return False
    func = last.value.func
    helper = (helpers or {}).get(func.id) if isinstance(func, ast.Name) else None
    if not isinstance(helper, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    return always_raises(helper)
