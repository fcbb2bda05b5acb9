"""Which public functions a commit added or changed, named as tests would import them.

Module names come from the commit's tree: a file's package is the chain of directories holding an
``__init__.py``; the first directory above it without one is the import root (``src/pkg/m.py`` with
``src/pkg/__init__.py`` is ``pkg.m`` under root ``src``). Public means: not starting with ``_``, in a
module and class that are public, listed in ``__all__`` when the module defines one; properties,
overloads and abstract methods are left out (nothing to call or generate).
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from controlroom.core.model import ChangeSet, FileChange
from controlroom.core.semantic import file_changed_definitions
from controlroom.core.testpaths import is_test_path as is_test_path  # the shared rule
from controlroom.core.toolkit.parsing import map_batches_blocking

SKIPPED_DECORATORS = {
    "property",
    "setter",
    "deleter",
    "overload",
    "abstractmethod",
    "cached_property",
}


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """A public function or method of the repository at the commit."""

    path: str
    module: str  # dotted, relative to ``root``
    root: str  # import root, relative to the repository ("" = top)
    qualname: str  # "f" or "Class.method"
    line: int  # the ``def`` line
    end_line: int
    snippet: str  # the ``def`` line's text, stripped
    is_method: bool
    is_async: bool
    body_lines: tuple[int, ...]  # lines of the body's statements (docstring excluded)
    returns_annotated: bool = False  # a return annotation other than None
    documents_raises: bool = False  # the docstring has a Raises section or :raises:
    # One simple statement, no decision and no arithmetic (``raise``, ``return self._x``, one
    # delegating call): a test for it pins one line (docs/agents-tests.md, "Severity").
    one_statement: bool = False

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.qualname}"

    @property
    def name(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]


def module_name(path: str, init_files: AbstractSet[str]) -> tuple[str, str]:
    """``(import root, dotted module)`` for a ``.py`` path, from the packages in the tree."""
    directory, base = posixpath.split(path)
    parts = [] if base == "__init__.py" else [base[: -len(".py")]]
    # A directory without ``__init__.py`` below one with it is a namespace subpackage (PEP 420):
    # still part of the package. The import root is above the highest package directory.
    top = directory
    probe = directory
    while probe:
        if posixpath.join(probe, "__init__.py") in init_files:
            top = posixpath.dirname(probe)
        probe = posixpath.dirname(probe)
    while directory and directory != top:
        directory, package = posixpath.split(directory)
        parts.insert(0, package)
    return directory, ".".join(parts)


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = set()
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Attribute):
            names.add(target.attr)
        elif isinstance(target, ast.Name):
            names.add(target.id)
    return names


def _dunder_all(tree: ast.Module) -> set[str] | None:
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if isinstance(node, ast.Assign | ast.AnnAssign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in targets
        ):
            try:
                value = ast.literal_eval(node.value) if node.value else None
            except ValueError:
                return None
            return {v for v in value if isinstance(v, str)} if value else set()
    return None


_RAISES = re.compile(r"^\s*Raises\b|:raises?\s", re.MULTILINE)


def _returns_something(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    ann = node.returns
    return ann is not None and not (isinstance(ann, ast.Constant) and ann.value in (None, "None"))


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, ...]:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring is not code
    lines = {sub.lineno for stmt in body for sub in ast.walk(stmt) if isinstance(sub, ast.stmt)}
    return tuple(sorted(lines))


_LOGIC = (
    ast.Compare, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.comprehension, ast.Subscript,
    ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith, ast.Match,
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.JoinedStr,
)  # fmt: skip


def _one_statement(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """The body (docstring aside) is one statement with no decision, loop or arithmetic."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if len(body) != 1:
        return False
    return not any(isinstance(sub, _LOGIC) for sub in ast.walk(body[0]))


def public_functions(
    tree: ast.Module, path: str, root: str, module: str, lines: list[str]
) -> list[FunctionInfo]:
    """Every public function and method defined in ``tree`` (nested classes included)."""
    exported = _dunder_all(tree)
    found: list[FunctionInfo] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if exported is not None and not prefix and getattr(node, "name", "") not in exported:
                continue
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.name.startswith("_") or _decorator_names(node) & SKIPPED_DECORATORS:
                    continue
                found.append(
                    FunctionInfo(
                        path=path,
                        module=module,
                        root=root,
                        qualname=prefix + node.name,
                        line=node.lineno,
                        end_line=node.end_lineno or node.lineno,
                        snippet=lines[node.lineno - 1].strip() if node.lineno <= len(lines) else "",
                        is_method=bool(prefix),
                        is_async=isinstance(node, ast.AsyncFunctionDef),
                        body_lines=_body_lines(node),
                        one_statement=_one_statement(node),
                        returns_annotated=_returns_something(node),
                        documents_raises=bool(_RAISES.search(ast.get_docstring(node) or "")),
                    )
                )

    visit(tree.body, "")
    return found


def _first_line(info: FunctionInfo, tree_lines: dict[int, int]) -> int:
    return tree_lines.get(info.line, info.line)


@dataclass(slots=True)
class ChangedModule:
    """A changed non-test module: all its public functions, and the ones this commit touched."""

    file: FileChange
    root: str
    module: str
    functions: list[FunctionInfo]
    changed: list[FunctionInfo]


def changed_modules(
    change: ChangeSet, init_files: AbstractSet[str], *, analyze_all: bool = False
) -> list[ChangedModule]:
    """Changed, importable, non-test modules and the public functions the commit added or changed.

    Blocking. Each module is parsed (and compared with its parent for the changes in meaning) in
    the worker pool when the change set is big: on a release commit this is seconds of parsing
    that would hold the GIL the other agents share."""
    jobs: list[tuple[FileChange, str, str, bool]] = []
    for file in change.python_files():
        if is_test_path(file.path) or file.new_text is None:
            continue
        root, module = module_name(file.path, init_files)
        if not module or any(part.startswith("_") for part in module.split(".")):
            continue  # private module, or a package's __init__ at the import root
        if not all(part.isidentifier() for part in module.split(".")):
            continue  # not importable by that name (a script like "setup-tools.py")
        jobs.append((file, root, module, analyze_all))
    sizes = [len(file.new_text or "") + len(file.old_text or "") for file, *_ in jobs]
    found = dict(map_batches_blocking(module_functions, jobs, sizes))
    return [
        ChangedModule(file, root, module, *parsed)
        for file, root, module, _ in jobs
        if (parsed := found.get(file.path)) is not None
    ]


def module_functions(
    jobs: list[tuple[FileChange, str, str, bool]],
) -> list[tuple[str, tuple[list[FunctionInfo], list[FunctionInfo]] | None]]:
    """``(path, (public functions, those the commit changed))`` per module; None when it does
    not parse (the critic reports syntax errors). Module-level: a worker process runs it."""
    return [
        (file.path, _functions(file, root, module, every)) for file, root, module, every in jobs
    ]


def _functions(
    file: FileChange, root: str, module: str, analyze_all: bool
) -> tuple[list[FunctionInfo], list[FunctionInfo]] | None:
    try:
        tree = ast.parse(file.new_text or "", filename=file.path)
    except (SyntaxError, ValueError):
        return None
    starts = {
        node.lineno: min([d.lineno for d in node.decorator_list] + [node.lineno])
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    functions = public_functions(tree, file.path, root, module, (file.new_text or "").splitlines())
    # Changed in meaning: a def whose lines changed only in annotations or format is not.
    meant = None if analyze_all else file_changed_definitions(file, new_tree=tree)
    changed = [
        f
        for f in functions
        if analyze_all
        or (
            (meant is None or f.qualname in meant)
            and any(
                r.start <= f.end_line and r.end >= _first_line(f, starts)
                for r in file.changed_lines
            )
        )
    ]
    return functions, changed
