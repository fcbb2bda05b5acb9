"""Is an undocumented method an override of a documented base method?

A method that overrides a documented base method inherits its docstring (``help()``, Sphinx's
``autodoc_inherit_docstrings``, IDEs); a generated docstring would hide the inherited one, so DOC100
is not raised for it. Bases are resolved by reading source, never by importing the project: first in
the same module (the worker does this on the tree it has), then through the module's imports to
other modules of the repository at the commit or of the standard library.

A reference to a module is ``("path", "pkg/sub/base")`` (a relative import, as a path without
``.py``) or ``("dotted", "pkg.base")`` (an absolute one).
"""

from __future__ import annotations

import ast
import importlib.util
import posixpath
import sys
from collections.abc import Callable
from pathlib import Path

Ref = tuple[str, str, str]  # (kind, module, class name)
_MAX_DEPTH = 5
_NOT_STDLIB = {"antigravity", "this", "__main__"}


def imports_of(tree: ast.Module, path: str) -> dict[str, tuple[str, str, str | None]]:
    """Local name -> (kind, module, imported attribute or None for a module) of top-level imports."""
    table: dict[str, tuple[str, str, str | None]] = {}
    here = posixpath.dirname(path)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here
                for _ in range(node.level - 1):
                    base = posixpath.dirname(base)
                stem = (
                    posixpath.join(base, *(node.module or "").split(".")) if node.module else base
                )
                kind, module = "path", stem.strip("/")
            else:
                kind, module = "dotted", node.module or ""
            for alias in node.names:
                table[alias.asname or alias.name] = (kind, module, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    table[alias.asname] = ("dotted", alias.name, None)
                else:
                    top = alias.name.split(".", 1)[0]
                    table[top] = ("dotted", top, None)
    return table


def _classes(tree: ast.Module) -> dict[str, ast.ClassDef]:
    return {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}


def _documents(cls: ast.ClassDef, method: str) -> bool:
    return any(
        isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        and n.name == method
        and ast.get_docstring(n) is not None
        for n in cls.body
    )


def _ref_of(base: ast.expr, imports: dict[str, tuple[str, str, str | None]]) -> Ref | None:
    """The imported class a base expression names (``Base``, ``mod.Base``, ``pkg.mod.Base``)."""
    if isinstance(base, ast.Subscript):
        base = base.value  # Generic[T], Base[int]
    if isinstance(base, ast.Name) and base.id in imports:
        kind, module, attr = imports[base.id]
        return (kind, module, attr) if attr else None
    chain: list[str] = []
    while isinstance(base, ast.Attribute):
        chain.insert(0, base.attr)
        base = base.value
    if not chain or not isinstance(base, ast.Name) or base.id not in imports:
        return None
    kind, module, attr = imports[base.id]
    parts = ([attr] if attr else []) + chain[:-1]
    if kind == "path":
        return ("path", posixpath.join(module, *parts), chain[-1])
    return ("dotted", ".".join([module, *parts]), chain[-1])


def check_in_module(
    tree: ast.Module, path: str, cls: ast.ClassDef, method: str
) -> bool | list[Ref]:
    """True when a base class in this module documents ``method``; else the imported bases."""
    classes, imports = _classes(tree), imports_of(tree, path)
    external: list[Ref] = []
    seen: set[str] = {cls.name}
    todo = list(cls.bases)
    while todo:
        base = todo.pop(0)
        if isinstance(base, ast.Subscript):
            base = base.value  # Base[int]
        local = base.id if isinstance(base, ast.Name) else None
        if local in classes and local not in seen:
            seen.add(local)
            if _documents(classes[local], method):
                return True
            todo.extend(classes[local].bases)
            continue
        ref = _ref_of(base, imports)
        if ref is not None and ref not in external:
            external.append(ref)
    return external


class BaseResolver:
    """Finds documented methods in imported base classes (repository first, then stdlib)."""

    def __init__(self, read: Callable[[str], str | None], paths: set[str]) -> None:
        self._read = read  # repository path -> text at the commit
        self._paths = paths  # every file path of the repository at the commit
        self._trees: dict[str, ast.Module | None] = {}

    def documented(self, ref: Ref, method: str, depth: int = 0) -> bool:
        """True when the class ``ref`` (or one of its bases) documents ``method``."""
        if depth > _MAX_DEPTH:
            return False
        found = self._load(ref[0], ref[1])
        if found is None:
            return False
        path, tree = found
        cls = _classes(tree).get(ref[2])
        if cls is None:  # a re-export: follow the module's own import of that name
            table = imports_of(tree, path)
            again = table.get(ref[2])
            if again is not None and again[2] is not None:
                return self.documented((again[0], again[1], again[2]), method, depth + 1)
            star = table.get("*")  # ``from _collections_abc import *``
            return star is not None and self.documented(
                (star[0], star[1], ref[2]), method, depth + 1
            )
        if _documents(cls, method):
            return True
        result = check_in_module(tree, path, cls, method)
        if result is True:
            return True
        return any(self.documented(r, method, depth + 1) for r in result or ())

    def _load(self, kind: str, module: str) -> tuple[str, ast.Module] | None:
        path = self._locate(kind, module)
        if path is None:
            return None
        if path not in self._trees:
            text = self._text(path)
            try:
                self._trees[path] = ast.parse(text) if text is not None else None
            except (SyntaxError, ValueError):
                self._trees[path] = None
        tree = self._trees[path]
        return (path, tree) if tree is not None else None

    def _locate(self, kind: str, module: str) -> str | None:
        if kind == "path" and module.startswith("stdlib:"):  # a relative import inside the stdlib
            for candidate in (module + ".py", module + "/__init__.py"):
                if Path(candidate[len("stdlib:") :]).is_file():
                    return candidate
            return None
        stems = [module] if kind == "path" else []
        if kind == "dotted" and module:
            tail = module.replace(".", "/")
            matches = []
            for p in self._paths:
                for suffix in (".py", "/__init__.py"):
                    stem = p[: -len(suffix)] if p.endswith(suffix) else None
                    if stem is not None and (stem == tail or stem.endswith("/" + tail)):
                        matches.append(stem)
            stems = sorted(set(matches), key=len)[:1]
            if not stems:
                return _stdlib_file(module)
        for stem in stems:
            for candidate in (stem + ".py", stem + "/__init__.py"):
                if candidate in self._paths:
                    return candidate
        return None

    def _text(self, path: str) -> str | None:
        if path.startswith("stdlib:"):
            try:
                return Path(path[len("stdlib:") :]).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return None
        return self._read(path)


def _stdlib_file(module: str) -> str | None:
    """``stdlib:<file>`` of a standard-library module's source (found, never executed itself)."""
    top = module.split(".", 1)[0]
    if top not in sys.stdlib_module_names or top in _NOT_STDLIB:
        return None
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    origin = getattr(spec, "origin", None)
    if origin == "frozen":  # os, _collections_abc, ...: the source file is still there
        origin = getattr(getattr(spec, "loader_state", None), "filename", None)
    if not origin or not origin.endswith(".py"):
        return None
    return "stdlib:" + origin
