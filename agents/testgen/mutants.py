"""Mutants of one function, made with ``ast``: a test that fails on none of them is too weak.

Four kinds of small bug, tried in this order, one of each kind before a second of any:
- ``return``: a returned value replaced by a constant of the annotated type (``""``, ``0``,
  ``0.0``, ``b""``, ``[]``, ``{}``, ``()``, ``set()``; ``not (value)`` for ``bool``; else ``None``),
  so that a mere ``isinstance`` check cannot tell; a function annotated ``X | None`` that never
  returns a value (a base hook whose default is ``None``) gets ``return <constant of X>`` instead;
- ``compare``: a comparison negated (``<`` -> ``>=``, ``==`` -> ``!=``, ``in`` -> ``not in``...);
- ``arith``: an arithmetic or boolean operator swapped (``+`` <-> ``-``, ``*`` -> ``+``,
  ``/`` -> ``*``, ``and`` <-> ``or``...);
- ``branch``: an ``if`` removed (its ``else`` runs instead, or nothing);
- ``statement``: a call statement or a ``raise`` replaced by ``pass`` (a check or an error that
  no longer happens).

Only the function's own lines change in the module's source; the rest stays byte for byte.
"""

from __future__ import annotations

import ast
import difflib
import textwrap
from dataclasses import dataclass

KINDS = ("return", "compare", "arith", "branch", "statement")
NEGATED: dict[type, type] = {
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
SWAPPED: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Add,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
    ast.And: ast.Or,
    ast.Or: ast.And,
}
CONSTANTS = {
    "str": '""',
    "int": "0",
    "float": "0.0",
    "bytes": 'b""',
    "list": "[]",
    "dict": "{}",
    "tuple": "()",
    "set": "set()",
    "frozenset": "frozenset()",
}


@dataclass(frozen=True, slots=True)
class Mutant:
    kind: str
    description: str  # "line 4: `n > 0` -> `n <= 0`"
    source: str  # the whole module, this function mutated
    diff: str  # a unified diff of the function alone


def find_function(tree: ast.Module, qualname: str) -> ast.FunctionDef | None:
    body: list[ast.stmt] = tree.body
    found: ast.AST | None = None
    for part in qualname.split("."):
        found = next(
            (n for n in body if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name == part),
            None,
        )
        if found is None:
            return None
        body = found.body
    return found if isinstance(found, ast.FunctionDef) else None


def mutants(source: str, qualname: str, limit: int) -> list[Mutant]:
    """At most ``limit`` mutants of ``qualname`` in ``source``, one kind after another."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    func = find_function(tree, qualname)
    if func is None or limit <= 0:
        return []
    counts = {kind: len(_sites(func, kind)) for kind in KINDS}
    order = [
        (kind, i)
        for i in range(max(counts.values(), default=0))
        for kind in KINDS
        if i < counts[kind]
    ]
    made: list[Mutant] = []
    for kind, index in order:
        mutant = _make(source, qualname, kind, index)
        if mutant is not None:
            made.append(mutant)
        if len(made) >= limit:
            break
    return made


def has_mutant(source: str | ast.Module, qualname: str) -> bool:
    """Whether ``qualname`` has any mutant: without one, no test of it can be offered."""
    try:
        func = find_function(ast.parse(source) if isinstance(source, str) else source, qualname)
    except (SyntaxError, ValueError):
        return False
    return func is not None and any(_sites(func, kind) for kind in KINDS)


def _sites(func: ast.FunctionDef, kind: str) -> list[ast.AST]:
    nodes = [n for stmt in func.body for n in ast.walk(stmt)]
    if kind == "return":
        constant = _constant(func)
        if _falls_through(func, nodes) and _optional_constant(func) is not None:
            return [func]  # the implicit ``return None`` at its end
        return [
            n
            for n in nodes
            if isinstance(n, ast.Return)
            and n.value is not None
            and ast.unparse(n.value) != ast.unparse(_replacement(n.value, constant))
        ]
    if kind == "compare":
        return [n for n in nodes if isinstance(n, ast.Compare) and type(n.ops[0]) in NEGATED]
    if kind == "arith":
        return [
            n
            for n in nodes
            if isinstance(n, ast.BinOp | ast.AugAssign | ast.BoolOp) and type(n.op) in SWAPPED
        ]
    if kind == "statement":
        return [
            n
            for n in nodes
            if isinstance(n, ast.Raise)
            or (isinstance(n, ast.Expr) and isinstance(n.value, ast.Call))
        ]
    return [n for n in nodes if isinstance(n, ast.If)]


def _constant(func: ast.FunctionDef) -> str | None:
    """The constant a ``return`` becomes: by the return annotation; ``"not"`` for ``bool``."""
    node = func.returns
    if isinstance(node, ast.Subscript):
        node = node.value
    name = node.id if isinstance(node, ast.Name) else None
    if name == "bool":
        return "not"
    return CONSTANTS.get(name or "", "None")


def _falls_through(func: ast.FunctionDef, nodes: list[ast.AST]) -> bool:
    """No ``return`` with a value, no ``yield``, and no ``raise`` ending the body: it returns None."""
    body = [s for s in func.body if not isinstance(getattr(s, "value", None), ast.Constant)]
    if body and isinstance(body[-1], ast.Raise):
        return False
    stack: list[ast.AST] = list(func.body)
    while stack:  # the function's own nodes, not those of functions nested in it
        node = stack.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            return False
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return False
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))
    return True


def _optional_constant(func: ast.FunctionDef) -> str | None:
    """For ``X | None`` / ``Optional[X]`` / ``Union[X, None]`` with a constant for ``X`` (see
    ``CONSTANTS``; ``True`` for ``bool``): that constant; else None."""
    node = func.returns
    members: list[ast.expr] = []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        members = [node.left, node.right]
    elif isinstance(node, ast.Subscript) and ast.unparse(node.value).rsplit(".", 1)[-1] in (
        "Optional",
        "Union",
    ):
        inner = node.slice
        members = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
        if ast.unparse(node.value).endswith("Optional"):
            members.append(ast.Constant(None))
    names = [ast.unparse(m.value if isinstance(m, ast.Subscript) else m) for m in members]
    if "None" not in names or len(names) != 2:
        return None
    other = next(n for n in names if n != "None").rsplit(".", 1)[-1]
    return "True" if other == "bool" else CONSTANTS.get(other)


def _replacement(value: ast.expr, constant: str | None) -> ast.expr:
    if constant == "not":
        return ast.UnaryOp(op=ast.Not(), operand=value)
    return ast.parse(constant or "None", mode="eval").body


def _make(source: str, qualname: str, kind: str, index: int) -> Mutant | None:
    tree = ast.parse(source)
    func = find_function(tree, qualname)
    assert func is not None
    original = ast.unparse(func)
    node = _sites(func, kind)[index]
    line = getattr(node, "lineno", func.lineno)
    first = ast.unparse(node).splitlines()[0]
    before = f"if {ast.unparse(node.test)}:" if isinstance(node, ast.If) else first
    if node is func:  # falls through: an explicit constant return at its end
        constant = _optional_constant(func) or "None"
        func.body.append(ast.Return(value=ast.parse(constant, mode="eval").body))
        line = func.end_lineno or func.lineno
        before, after = "(returns None)", f"return {constant}"
    elif kind == "return":
        node.value = _replacement(node.value, _constant(func))  # type: ignore[attr-defined]
        after = ast.unparse(node)
    elif kind == "compare":
        node.ops[0] = NEGATED[type(node.ops[0])]()  # type: ignore[attr-defined]
        after = ast.unparse(node)
    elif kind == "arith":
        node.op = SWAPPED[type(node.op)]()  # type: ignore[attr-defined]
        after = ast.unparse(node).splitlines()[0]
    elif kind == "statement":
        _Replace(node).visit(func)
        after = "pass"
    else:
        _RemoveIf(node).visit(func)
        after = "(branch removed)"
    mutated = ast.unparse(ast.fix_missing_locations(func))
    if mutated == original:
        return None
    lines = source.splitlines(keepends=True)
    start = min([func.lineno, *(d.lineno for d in func.decorator_list)]) - 1
    end = func.end_lineno or func.lineno
    indent = " " * func.col_offset
    new_text = textwrap.indent(mutated, indent) + "\n"
    mutated_source = "".join([*lines[:start], new_text, *lines[end:]])
    diff = "".join(
        difflib.unified_diff(
            (original + "\n").splitlines(keepends=True),
            (mutated + "\n").splitlines(keepends=True),
            f"{qualname} (commit)",
            f"{qualname} (mutant)",
            n=1,
        )
    )
    return Mutant(kind, f"line {line}: `{before}` -> `{after}`", mutated_source, diff)


class _RemoveIf(ast.NodeTransformer):
    def __init__(self, target: ast.AST) -> None:
        self.target = target

    def visit_If(self, node: ast.If) -> ast.AST | list[ast.stmt]:
        if node is self.target:
            return node.orelse or [ast.Pass()]
        self.generic_visit(node)
        return node


class _Replace(ast.NodeTransformer):
    """The target statement becomes ``pass``."""

    def __init__(self, target: ast.AST) -> None:
        self.target = target

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return ast.copy_location(ast.Pass(), node)
        return super().visit(node)
