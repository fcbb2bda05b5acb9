"""Which of griffe's parameter breakages break a caller, judged with both signatures at hand.

griffe matches parameters by name, so it reports changes no caller can notice: renaming a
parameter that could never be passed by keyword (positional-only, or ``__x`` by the old
convention for positional-only), renaming ``*args``/``**kwargs``, and swapping a "use the
default" sentinel for ``None``. A keyword removed from a function that now takes ``**kwargs`` is
still accepted: a deprecation at most, never a break.
"""

from __future__ import annotations

import ast
from typing import Any, Literal

from griffe import ParameterKind

Verdict = Literal["keep", "drop", "deprecated"]

VARIADIC = {ParameterKind.var_positional, ParameterKind.var_keyword}
POSITIONAL = {ParameterKind.positional_only, ParameterKind.positional_or_keyword}


def positional_only(param: Any) -> bool:
    """Whether no caller can pass ``param`` by keyword (``/`` or a ``__name`` parameter)."""
    if param.kind is ParameterKind.positional_only:
        return True
    name = param.name
    return (
        param.kind is ParameterKind.positional_or_keyword
        and name.startswith("__")
        and not name.endswith("__")
    )


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
            return "drop" if old_value.kind in _kinds(new_fn) else "keep"
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
        return "drop" if _renamed_positional(old_fn, new_fn, index) else "keep"
    if kind == "PARAMETER_CHANGED_KIND" and old_value is not None and new_value is not None:
        if positional_only(old_value) and new_value.kind in POSITIONAL:
            return "drop"
        return "keep"
    if kind == "PARAMETER_CHANGED_DEFAULT" and old_value is not None and new_value is not None:
        return "drop" if default_is_cosmetic(old_value.default, new_value.default) else "keep"
    return "keep"
