"""Which definitions a change altered in meaning, not only in text.

A commit that modernises annotations (``Optional[int]`` -> ``int | None``), rewrites docstrings,
reformats code or edits comments touches many lines without changing what any function does. Each
def and class is compared between the parent and the commit by its AST with annotations (of
arguments, returns and ``AnnAssign``), docstrings, ``typing.cast`` targets and
``if TYPE_CHECKING:`` blocks removed; formatting and comments are not in the AST at all. A
definition whose normalised AST is unchanged did not change; a new definition did.

Qualified names are dotted through classes and functions: ``f``, ``Cart.total``, ``f.inner``.
Results are cached per pair of texts, so every agent asking about one change set parses once.
"""

from __future__ import annotations

import ast
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from controlroom.core.model import FileChange

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_CACHE_MAX = 2048
_cache: OrderedDict[tuple[bytes, bytes], frozenset[str] | None] = OrderedDict()
_lock = threading.Lock()


def _parse(source: str) -> ast.Module | None:
    """``ast.parse``, retried on CPython 3.11's cross-thread recursion-counter collision."""
    for attempt in range(3):
        try:
            return ast.parse(source)
        except (SyntaxError, ValueError):
            return None
        except SystemError:
            if attempt == 2:
                raise
    return None


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def changed_definitions(
    old_source: str | None, new_source: str, *, new_tree: ast.Module | None = None
) -> frozenset[str] | None:
    """Qualified names of the defs/classes of ``new_source`` that are new or changed in meaning.

    None when ``new_source`` does not parse (the caller falls back to changed lines). With no
    ``old_source`` (an added file) or an old side that does not parse, every definition counts.
    ``new_tree`` is ``new_source`` already parsed, to save a parse.
    """
    key = (_digest(old_source or ""), _digest(new_source))  # small keys: texts are not kept
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    tree = new_tree if new_tree is not None else _parse(new_source)
    if tree is None:
        result = None
    else:
        new = signatures(tree)
        old_tree = _parse(old_source) if old_source is not None else None
        old = signatures(old_tree) if old_tree is not None else {}
        result = frozenset(name for name, sig in new.items() if old.get(name) != sig)
    with _lock:
        _cache[key] = result
        while len(_cache) > _CACHE_MAX:
            _cache.popitem(last=False)
    return result


def file_changed_definitions(
    file: FileChange, *, new_tree: ast.Module | None = None
) -> frozenset[str] | None:
    """:func:`changed_definitions` of a changed file (None when its new text is unreadable)."""
    if file.new_text is None:
        return None
    return changed_definitions(file.old_text, file.new_text, new_tree=new_tree)


def signatures(tree: ast.Module) -> dict[str, tuple[Any, ...]]:
    """Qualified name -> normalised forms of the definitions of that name (in order)."""
    found: dict[str, list[Any]] = {}
    memo: dict[int, Any] = {}
    for qualname, node in _definitions(tree.body, ""):
        found.setdefault(qualname, []).append(_form(node, memo))
    return {name: tuple(forms) for name, forms in found.items()}


def _definitions(body: list[ast.stmt], prefix: str) -> Iterator[tuple[str, Definition]]:
    """(qualified name, node) of every def/class, descending into conditional blocks."""
    for node in body:
        if isinstance(node, Definition):
            qualname = prefix + node.name
            yield qualname, node
            yield from _definitions(node.body, qualname + ".")
        else:
            for field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, field, None)
                if isinstance(children, list) and children and isinstance(children[0], ast.AST):
                    yield from _definitions(
                        [c for child in children for c in _stmts(child)], prefix
                    )


def _stmts(node: ast.AST) -> list[ast.stmt]:
    if isinstance(node, ast.ExceptHandler):
        return node.body
    return [node] if isinstance(node, ast.stmt) else []


def _is_docstring(stmt: ast.AST) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


# Fields that never change behaviour, per node type.
_IGNORED = {
    ast.arg: {"annotation", "type_comment"},
    ast.FunctionDef: {"returns", "type_comment"},
    ast.AsyncFunctionDef: {"returns", "type_comment"},
    ast.AnnAssign: {"annotation"},
    ast.Assign: {"type_comment"},
    ast.For: {"type_comment"},
    ast.AsyncFor: {"type_comment"},
    ast.With: {"type_comment"},
    ast.AsyncWith: {"type_comment"},
}
_DROP = object()


def _form(node: Any, memo: dict[int, Any]) -> Any:
    """A hashable, comparable form of ``node`` without annotations, docstrings, type-only code.

    One pass, no copy of the tree; the forms of definitions are memoised, so a class and its
    methods cost one walk.
    """
    if isinstance(node, list):
        items = [_form(item, memo) for item in node]
        return tuple(item for item in items if item is not _DROP)
    if not isinstance(node, ast.AST):
        return node
    if isinstance(node, Definition):
        cached = memo.get(id(node))
        if cached is not None:
            return cached
    elif _is_type_checking(node):
        return _DROP if not node.orelse else _form(node.orelse, memo)  # type: ignore[attr-defined]
    ignored = _IGNORED.get(type(node), ())
    parts: list[Any] = [type(node).__name__]
    for name in node._fields:
        if name in ignored:
            continue
        value: Any = getattr(node, name, None)
        if name == "body" and isinstance(node, Definition) and value and _is_docstring(value[0]):
            value = value[1:]
        elif name == "args" and isinstance(node, ast.Call) and _is_cast(node):
            value = value[1:]  # typing.cast(T, x): T is type-only
        parts.append(_form(value, memo))
    form = tuple(parts)
    if isinstance(node, Definition):
        memo[id(node)] = form
    return form


def _is_cast(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name == "cast" and len(call.args) == 2
