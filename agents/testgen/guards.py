"""Guard tests: a function that opens by rejecting an argument value gets a test that it does.

Read with ``ast`` from the commit's text, never run here. The guard is the body's first statement
(after the docstring): ``if <param> not in {"r", "rb"}: raise ValueError(...)`` (also ``in``,
``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=`` against a literal), with no ``else``. The test calls the
function with a value the guard rejects (every other required argument ``None``: the guard runs
first) and expects the exception the guard raises. A method is called on an instance made without
``__init__`` (``object.__new__``), since the guard reads only its arguments. The test still goes
through validation and the mutation gate like any other.
"""

from __future__ import annotations

import ast
import builtins
from typing import Any

from controlroom.agents.testgen.examples import examples_in_texts
from controlroom.agents.testgen.mutants import find_function, has_mutant
from controlroom.agents.testgen.static import FunctionInfo
from controlroom.agents.testgen.write import GeneratedTest, needs_ghostwriter

FILLERS = ("invalid", "x", "", "-")


def partition(
    candidates: list[FunctionInfo],
    texts: dict[str, str],
    examples: dict[str, Any],
    siblings: dict[tuple[str, str], set[str]],
    limit: int,
    asked: _Asked | None = None,
) -> tuple[list[FunctionInfo], list[FunctionInfo], dict[str, str]]:
    """``(functions that get a child, at most limit; functions with nothing to assert; guard
    tests)``: a function gets a child when the ghostwriter may find a property, or it has literal
    examples or a guard, or it has a mutant (its observed behaviour may make a test that kills
    it, ``testgen_observe``); a function without a mutant never gets an offered test."""
    asked = asked or _Asked(candidates, texts, siblings)
    wanted: list[FunctionInfo] = []
    nothing: list[FunctionInfo] = []
    for f in candidates:
        if not (f.dotted in examples or asked.qualifies(f)):
            nothing.append(f)
        elif len(wanted) < limit:
            wanted.append(f)
    return wanted, nothing, asked.guards


class _Asked:
    """What makes a function worth a child besides literal examples: a guard test, a property the
    ghostwriter may find, a mutant. Each file parsed once, each function judged once."""

    def __init__(
        self,
        candidates: list[FunctionInfo],
        texts: dict[str, str],
        siblings: dict[tuple[str, str], set[str]],
    ) -> None:
        self.guards = guard_tests(candidates, texts)
        self.texts, self.siblings = texts, siblings
        self.trees: dict[str, ast.Module | str] = {}
        self.known: dict[str, bool] = {}

    def qualifies(self, f: FunctionInfo) -> bool:
        if f.dotted not in self.known:
            namespace = self.siblings.get((f.module, f.qualname.rpartition(".")[0]), set())
            self.known[f.dotted] = (
                f.dotted in self.guards
                or needs_ghostwriter(f, namespace)
                or has_mutant(_tree(self.trees, f.path, self.texts), f.qualname)
            )
        return self.known[f.dotted]


def _tree(trees: dict[str, ast.Module | str], path: str, texts: dict[str, str]) -> ast.Module | str:
    """The parse of ``path``'s text, once per path (its text when it does not parse)."""
    if path not in trees:
        text = texts.get(path) or ""
        try:
            trees[path] = ast.parse(text)
        except (SyntaxError, ValueError):
            trees[path] = text
    return trees[path]


def guard_tests(functions: list[FunctionInfo], texts: dict[str, str]) -> dict[str, str]:
    """``dotted name -> test source`` for the functions that open with a guard."""
    found = {}
    for function in functions:
        try:
            code = guard_test(function, texts.get(function.path) or "")
        except (SyntaxError, ValueError):
            code = None
        if code:
            found[function.dotted] = code
    return found


def use_guards(tests: list[GeneratedTest], guards: dict[str, str]) -> None:
    """A function the ghostwriter wrote nothing for gets its guard test instead."""
    for test in tests:
        code = guards.get(test.function.dotted)
        if code and not test.code and not test.missing_module:
            test.code, test.prop, test.reason = code, "guard", None


def guard_test(function: FunctionInfo, source: str) -> str | None:
    node = find_function(ast.parse(source), function.qualname) if source else None
    if node is None:
        return None
    body = [s for s in node.body if not isinstance(getattr(s, "value", None), ast.Constant)]
    first = body[0] if body else None
    if not (
        isinstance(first, ast.If)
        and not first.orelse
        and len(first.body) == 1
        and isinstance(first.body[0], ast.Raise)
    ):
        return None
    decorators = {getattr(d, "id", getattr(d, "attr", "")) for d in node.decorator_list}
    method = function.is_method and not decorators & {"staticmethod", "classmethod"}
    args = node.args.posonlyargs + node.args.args
    if function.is_method and "staticmethod" not in decorators:
        args = args[1:]  # self or cls
    guarded = _rejected(first.test, {a.arg for a in args + node.args.kwonlyargs})
    exc = _exception(first.body[0], function.module)
    if guarded is None or exc is None:
        return None
    name, value = guarded
    if name in {a.arg for a in node.args.posonlyargs}:
        return None
    required = len(args) - len(node.args.defaults)
    call = [("None" if a.arg != name else repr(value)) for a in args[:required]]
    if name not in {a.arg for a in args[:required]}:
        call.append(f"{name}={value!r}")
    call += [f"{a.arg}=None" for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True)
             if d is None and a.arg != name]  # fmt: skip
    owner = ".".join([function.module, *function.qualname.split(".")[:-1]])
    target = f"object.__new__({owner})" if method else owner
    return (
        f"import pytest\n\nimport {function.module}\n\n\n"
        f"def test_{function.qualname.replace('.', '_')}_rejects_{name}():\n"
        f"    with pytest.raises({exc}):\n"
        f"        {target}.{function.name}({', '.join(call)})\n"
    )


def _rejected(test: ast.expr, params: set[str]) -> tuple[str, Any] | None:
    """``(parameter, a value the guard rejects)`` for ``<param> <op> <literal>``."""
    if not (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.left, ast.Name)
        and test.left.id in params
    ):
        return None
    op, right = test.ops[0], test.comparators[0]
    try:
        literal = ast.literal_eval(right)
    except ValueError:
        return None
    name = test.left.id
    if isinstance(op, ast.NotIn) and isinstance(literal, set | frozenset | list | tuple):
        values = list(literal)
        if values and all(isinstance(v, str) for v in values):
            return next(((name, f) for f in FILLERS if f not in values), None)
        if values and all(type(v) is int for v in values):
            return name, max(values) + 1
        return None
    if isinstance(op, ast.In) and isinstance(literal, set | frozenset | list | tuple) and literal:
        return name, sorted(literal, key=repr)[0]
    if type(literal) not in (int, float) or isinstance(literal, bool):
        return (name, literal) if isinstance(op, ast.Eq) and literal is not None else None
    step = {ast.Lt: -1, ast.LtE: 0, ast.Gt: 1, ast.GtE: 0, ast.Eq: 0, ast.NotEq: 1}
    return (name, literal + step[type(op)]) if type(op) in step else None


def _exception(statement: ast.Raise, module: str) -> str | None:
    """The raised class as the test names it: a builtin by name, else through the module."""
    exc = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
    if exc is None:
        return None
    dotted = ast.unparse(exc)
    if not all(part.isidentifier() for part in dotted.split(".")):
        return None
    builtin = getattr(builtins, dotted, None)
    if isinstance(builtin, type) and issubclass(builtin, Exception):
        return None if builtin in (Exception, NotImplementedError) else dotted
    return f"{module}.{dotted}"


def plan_children(
    candidates: list[FunctionInfo],
    texts: dict[str, str],
    siblings: dict[tuple[str, str], set[str]],
    limit: int,
) -> tuple[dict[str, Any], tuple[list[FunctionInfo], list[FunctionInfo], dict[str, str]]]:
    """(literal call examples in the changed files, ``partition``'s answer): which functions get
    a sandboxed child. Module-level: a worker process may run it.

    Examples are looked for only where they can change the answer: for the functions nothing
    else qualifies, and the first ``limit`` that something does (no later one can be among the
    ``limit`` chosen). On a release commit with 190 candidates that is a few dozen names, not
    every changed file parsed for every name."""
    asked = _Asked(candidates, texts, siblings)
    qualified = [f for f in candidates if asked.qualifies(f)]
    chosen = {f.dotted for f in qualified[:limit]}
    lookup = [f for f in candidates if f.dotted in chosen or not asked.qualifies(f)]
    early = examples_in_texts(texts, lookup)
    return early, partition(candidates, texts, early, siblings, limit, asked)
