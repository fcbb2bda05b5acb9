"""Inputs learnt from the project: literal calls of a function (call sites, doctest examples).

Parsed with ``ast`` only. A call counts when every argument is a literal (``ast.literal_eval``) and
the call names the function unambiguously: ``f(...)`` in its own module or in a module that does
``from <its module> import f``, ``mod.f(...)`` where ``mod`` is its module's last name, and
``>>> f(...)`` lines in its docstring. The sandboxed ghostwriter child then calls the function with
them at the commit and turns the results into a parametrized example test (``testgen_ghost``).

For a method, ``<anything>.method(...)`` with literal arguments counts too (the receiver is built by
the child, so the call only lends its arguments). **Call shapes** (``builders``): for every class the
project defines outside its tests, up to ``MAX_BUILDERS`` literal calls ``Class(...)`` or
``x.Class(...)`` anywhere in the tree, tests included; the child builds receivers and arguments with
them (``testgen_observe``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

from controlroom.agents.testgen.mutants import find_function
from controlroom.agents.testgen.static import FunctionInfo, is_test_path

MAX_EXAMPLES = 8
MAX_BUILDERS = 3  # literal constructor calls kept per class
MAX_CLASSES = 400
MAX_FILES = 2000
MAX_BYTES = 1_000_000
_CLASS_LINE = re.compile(r"^[ \t]*class[ \t]+([A-Za-z_]\w*)", re.MULTILINE)
_CAPITALISED = re.compile(r"\b[A-Z]\w*")
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", "build", "dist"}


def examples_in_texts(
    texts: dict[str, str], functions: Iterable[FunctionInfo]
) -> dict[str, list[list[str]]]:
    """``dotted -> [[args repr, kwargs repr], ...]`` from ``path -> source`` texts. Only the texts
    holding ``name(`` for one of ``functions`` are parsed: a call needs it, and so does the
    function's own file (its ``def`` line), where its doctests are."""
    functions = list(functions)
    if not functions:
        return {}
    names = "|".join(sorted({re.escape(f.name) for f in functions}))
    call = re.compile(rf"\b(?:{names})\s*\(")
    named = {path: text for path, text in texts.items() if call.search(text)}
    return _examples(_parse(named), functions)


def builders_in_texts(texts: dict[str, str]) -> dict[str, list[list[str]]]:
    """``class name -> [[args repr, kwargs repr], ...]``: literal constructor calls of the classes
    defined outside the tests (see the module doc)."""
    return _builders(_parse(texts))


def _parse(texts: dict[str, str]) -> list[tuple[str, ast.Module]]:
    trees = []
    for path, text in texts.items():
        try:
            trees.append((path, ast.parse(text)))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return trees


def _builders(
    trees: list[tuple[str, ast.Module]], classes: set[str] | None = None
) -> dict[str, list[list[str]]]:
    """Literal constructor calls in ``trees`` of ``classes`` (default: the classes the trees
    define outside the tests)."""
    if classes is None:
        classes = {
            node.name
            for path, tree in trees
            if not is_test_path(path)
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_")
        }
    found: dict[str, list[list[str]]] = {}
    for _path, tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            target = node.func
            name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", None)
            if name not in classes:
                continue
            example = _literal_arguments(node)
            if example is None:
                continue
            bucket = found.setdefault(name, [])
            if example not in bucket and len(bucket) < MAX_BUILDERS:
                bucket.append(example)
            if len(found) >= MAX_CLASSES:
                return found
    return found


def _examples(
    trees: list[tuple[str, ast.Module]], functions: Iterable[FunctionInfo]
) -> dict[str, list[list[str]]]:
    wanted = [f for f in functions if not f.is_async]
    names = {f.name for f in wanted}
    found: dict[str, list[list[str]]] = {}
    for path, tree in trees:
        # One walk per tree: its imports, and its calls by the callee's last name.
        imported: dict[str, str] = {}
        calls_of: dict[str, list[ast.Call]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    imported[alias.asname or alias.name] = node.module or ""
            elif isinstance(node, ast.Call):
                target = node.func
                called = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
                if called in names:
                    calls_of.setdefault(called, []).append(node)
        for function in wanted:
            own = path == function.path
            sites = calls_of.get(function.name, [])
            if not sites and not own:
                continue
            if function.is_method:
                calls = _method_calls(sites, function.name)
            else:
                calls = _calls(sites, function, own, imported)
            if own:
                calls += _doctest_calls(tree, function)
            for example in calls:
                bucket = found.setdefault(function.dotted, [])
                if example not in bucket and len(bucket) < MAX_EXAMPLES:
                    bucket.append(example)
    return found


def examples_in_tree(
    root: Path, functions: list[FunctionInfo]
) -> tuple[dict[str, list[list[str]]], dict[str, list[list[str]]]]:
    """``(examples, builders)`` over every ``.py`` file of a worktree (bounded in files and size).

    Only files naming a wanted function, the class of a wanted method, or a class its ``def`` line
    names are parsed (a 900-file tree: the few that matter, not all); the project's classes are
    found in every file by a line match."""
    texts: dict[str, str] = {}
    for path in _python_files(root):
        try:
            if path.stat().st_size > MAX_BYTES:
                continue
            texts[path.relative_to(root).as_posix()] = path.read_text("utf-8", errors="replace")
        except OSError:
            continue
    classes = {
        name
        for path, text in texts.items()
        if not is_test_path(path)
        for name in _CLASS_LINE.findall(text)
        if not name.startswith("_")
    }
    words = {f.name for f in functions}
    words |= {f.qualname.split(".")[0] for f in functions if f.is_method}
    words |= {w for f in functions for w in _CAPITALISED.findall(f.snippet) if w in classes}
    pattern = (
        re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, words))) + r")\b") if words else None
    )
    relevant = {p: t for p, t in texts.items() if pattern is not None and pattern.search(t)}
    trees = _parse(relevant)
    return _examples(trees, functions), _builders(trees, classes)


def _python_files(root: Path) -> list[Path]:
    found: list[Path] = []
    stack = [root]
    while stack and len(found) < MAX_FILES:
        folder = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if entry.name not in SKIP_DIRS and not entry.name.startswith(".controlroom"):
                    stack.append(entry)
            elif entry.suffix == ".py":
                found.append(entry)
    return found[:MAX_FILES]


def _calls(
    sites: list[ast.Call], function: FunctionInfo, own: bool, imported: dict[str, str]
) -> list[list[str]]:
    """Literal arguments of the calls among ``sites`` that reach ``function``: by name in its own
    module or where it is imported, or as ``<its module>.name(...)``."""
    name = function.name
    last = function.module.rsplit(".", 1)[-1]
    by_name = own or imported.get(name, "").rsplit(".", 1)[-1] == last
    calls = []
    for node in sites:
        target = node.func
        direct = isinstance(target, ast.Name) and target.id == name and by_name
        dotted = (
            isinstance(target, ast.Attribute)
            and target.attr == name
            and isinstance(target.value, ast.Name)
            and target.value.id == last
            and not own
        )
        if direct or dotted:
            example = _literal_arguments(node)
            if example is not None:
                calls.append(example)
    return calls


def _method_calls(sites: list[ast.Call], name: str) -> list[list[str]]:
    """Literal arguments of ``<anything>.name(...)`` calls: a method's calls lend their arguments."""
    calls = []
    for node in sites:
        if isinstance(node.func, ast.Attribute) and node.func.attr == name:
            example = _literal_arguments(node)
            if example is not None:
                calls.append(example)
    return calls


def _doctest_calls(tree: ast.Module, function: FunctionInfo) -> list[list[str]]:
    node = find_function(tree, function.qualname)
    doc = ast.get_docstring(node) if node is not None else None
    calls = []
    for line in (doc or "").splitlines():
        text = line.strip()
        if not text.startswith(">>> "):
            continue
        try:
            expr = ast.parse(text[4:], mode="eval").body
        except SyntaxError:
            continue
        if isinstance(expr, ast.Call) and _named(expr.func, function.name):
            example = _literal_arguments(expr)
            if example is not None:
                calls.append(example)
    return calls


def _named(node: ast.expr, name: str) -> bool:
    return (isinstance(node, ast.Name) and node.id == name) or (
        isinstance(node, ast.Attribute) and node.attr == name
    )


def _literal_arguments(call: ast.Call) -> list[str] | None:
    """``[repr(args tuple), repr(kwargs dict)]`` when every argument is a literal."""
    try:
        args = tuple(ast.literal_eval(a) for a in call.args if not isinstance(a, ast.Starred))
        if len(args) != len(call.args) or any(k.arg is None for k in call.keywords):
            return None
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if not args and not kwargs:
        return None
    return [repr(args), repr(kwargs)]
