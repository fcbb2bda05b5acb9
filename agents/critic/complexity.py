"""Whether a commit made a function more complex: C901 is about the change, not the backlog.

ruff's C901 ("too complex") fires on every function over the threshold that a commit touches. A
function that was already as complex in the parent is long-standing debt, not something this
commit did: its finding is dropped. The measure is McCabe's (1 + decision points), computed the
same way on both sides, so only the comparison matters.
"""

from __future__ import annotations

import ast

from controlroom.core.toolkit.parsing import parse

BRANCHES = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.IfExp, ast.ExceptHandler, ast.With,
            ast.AsyncWith, ast.Assert, ast.comprehension, ast.match_case)  # fmt: skip
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def complexity(node: ast.AST) -> int:
    """McCabe's number of ``node``: 1 + branches + extra operands of ``and``/``or``."""
    count = 1
    for child in ast.walk(node):
        if isinstance(child, BRANCHES):
            count += 1
        elif isinstance(child, ast.BoolOp):
            count += len(child.values) - 1
    return count


def _find(tree: ast.Module, qualname: str) -> ast.AST | None:
    body: list[ast.stmt] = tree.body
    node: ast.AST | None = None
    for part in qualname.split("."):
        node = next(
            (s for s in body if isinstance(s, (*FUNCTIONS, ast.ClassDef)) and s.name == part), None
        )
        if node is None:
            return None
        body = node.body
    return node


def grew(old_text: str | None, new_text: str | None, qualname: str | None) -> bool:
    """Whether the commit made ``qualname`` more complex (True when unsure: keep the finding)."""
    if not old_text or not new_text or not qualname:
        return True
    try:
        old, new = parse(old_text, "<old>"), parse(new_text, "<new>")
    except (SyntaxError, ValueError, RecursionError):
        return True
    before, after = _find(old, qualname), _find(new, qualname)
    if not isinstance(before, FUNCTIONS) or not isinstance(after, FUNCTIONS):
        return True
    return complexity(after) > complexity(before)
