"""Code for ``eval``/``exec`` that a function writes from its own templates (code generation).

Libraries that generate functions (cattrs' unstructure factories, attrs-style ``__init__``
builders) write the source as lines, ``compile`` it and run it with the objects it needs passed
in a globals dict: ``eval(compile("\\n".join(lines), "", "exec"), globs)``. Nothing a caller wrote
becomes code when every line is a template: a string literal, or an f-string whose placeholders
are names bound only to literals (``fn_name = "unstructure"``), to a choice between literals
(``k_u = "f(k)" if kh else "k"``) or to the numbers of a ``range`` loop. Proved on the function's
AST: the code is that list joined (or a name only ever bound to that join); the list is built
only from templates (its own items spread again: ``lines = [*lines, "    return res"]``) and
otherwise only read.
"""

from __future__ import annotations

import ast

from controlroom.agents.critic.allowlist import joined_list
from controlroom.agents.critic.purpose import assigned, bound_only_by, parameters

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def code_from_templates(call: ast.Call, scope: ast.AST | None) -> bool:
    """True when ``eval``/``exec``'s code (or ``compile``'s source inside it) is the function's
    own template lines joined, as above."""
    if not call.args or not isinstance(scope, FUNCTIONS):
        return False
    code = call.args[0]
    if _called(code, "compile") and isinstance(code, ast.Call) and code.args:
        code = code.args[0]
    if isinstance(code, ast.Name):
        bound = assigned(scope, code.id)
        if not bound or len({joined_list(v) for v in bound}) != 1:
            return False
        code = bound[0]
    lines = joined_list(code)
    return lines is not None and _built_from_templates(lines, scope)


def _called(node: ast.AST | None, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _built_from_templates(name: str, scope: ast.AST) -> bool:
    if name in parameters(scope):
        return False
    bound = assigned(scope, name)
    if not bound or not all(_template_list(v, name, scope) for v in bound):
        return False
    parents = {child: node for node in ast.walk(scope) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(scope):
        if not (isinstance(node, ast.Name) and node.id == name):
            continue
        parent = parents.get(node)
        if isinstance(node.ctx, ast.Store):
            if isinstance(parent, ast.Assign | ast.AnnAssign | ast.AugAssign):
                continue  # the assignments, checked above
            return False  # bound by a loop, a with, an unpacking: unknown text
        if isinstance(parent, ast.Starred):
            continue  # its own items spread into a new list (checked above) or a call
        grand = parents.get(parent) if parent is not None else None
        if isinstance(parent, ast.Attribute) and isinstance(grand, ast.Call):
            if parent.attr == "append" and len(grand.args) == 1:
                if not _template(grand.args[0], scope):
                    return False
                continue
            if parent.attr == "join" or parent.attr in ("index", "count", "copy"):
                continue
            return False
        if isinstance(parent, ast.Call) and node in parent.args and joined_list(parent) == name:
            continue
        if isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Load):
            continue
        if isinstance(parent, ast.Compare | ast.BoolOp | ast.If):
            continue
        if _called(parent, "len") or _is_join_argument(parent, node):
            continue
        return False
    return True


def _is_join_argument(parent: ast.AST | None, node: ast.AST) -> bool:
    return (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Attribute)
        and parent.func.attr == "join"
        and node in parent.args
    )


def _template_list(value: ast.expr, name: str, scope: ast.AST) -> bool:
    """A list literal of templates (its own items spread in: ``[*lines, "..."]``), or the list
    plus such a literal (``lines += [...]``)."""
    if (
        isinstance(value, ast.BinOp)
        and isinstance(value.op, ast.Add)
        and isinstance(value.left, ast.Name)
        and value.left.id == name
    ):
        return _template_list(value.right, name, scope)
    if not isinstance(value, ast.List):
        return False
    for element in value.elts:
        if isinstance(element, ast.Starred):
            if not (isinstance(element.value, ast.Name) and element.value.id == name):
                return False
        elif not _template(element, scope):
            return False
    return True


def _template(value: ast.expr, scope: ast.AST) -> bool:
    """A string literal, or an f-string whose placeholders inject no text from outside."""
    if isinstance(value, ast.Constant):
        return isinstance(value.value, str)
    if isinstance(value, ast.JoinedStr):
        return all(
            _inert(part.value, scope)
            for part in value.values
            if isinstance(part, ast.FormattedValue)
        )
    return False


def _inert(expr: ast.expr, scope: ast.AST) -> bool:
    """A placeholder bound only to literals, to a choice between literals or to a ``range``
    loop's numbers (and never a parameter)."""
    if _literal_choice(expr):
        return True
    return isinstance(expr, ast.Name) and bound_only_by(
        scope, expr.id, loop=lambda it: _called(it, "range"), value=_literal_choice
    )


def _literal_choice(expr: ast.expr) -> bool:
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, str | int | float | bool) or expr.value is None
    if isinstance(expr, ast.IfExp):
        return _literal_choice(expr.body) and _literal_choice(expr.orelse)
    return False
