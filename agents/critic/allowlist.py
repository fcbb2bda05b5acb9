"""Code for ``eval``/``exec`` joined only from literals and allowlisted tokens.

A parser that turns an expression into Python by mapping each token to a literal, or keeping it
only after checking it against a literal set (``if token not in {"or", "and", "(", ")"}:
parts.append("False") ... else: parts.append(token)``), evaluates nothing a caller wrote. Proved on
the function's AST: the evaluated name is only ever ``"sep".join(parts)``, ``parts`` starts empty
and is only appended to, and every appended value is a literal or a name the branch holding the
append has checked against a literal collection.
"""

from __future__ import annotations

import ast

from controlroom.agents.critic.purpose import assigned


def code_from_allowlist(call: ast.Call, scope: ast.AST | None) -> bool:
    """True when ``eval``/``exec``'s code is a name joined from a list built as above."""
    if not call.args or not isinstance(call.args[0], ast.Name) or scope is None:
        return False
    joined = assigned(scope, call.args[0].id)
    lists = {joined_list(v) for v in joined}
    name = lists.pop() if len(lists) == 1 else None
    if not joined or name is None:
        return False
    starts = assigned(scope, name)
    if not starts or any(not (isinstance(v, ast.List) and not v.elts) for v in starts):
        return False
    parents = {child: node for node in ast.walk(scope) for child in ast.iter_child_nodes(node)}
    appended = False
    for node in ast.walk(scope):
        if not _uses(node, name):
            continue
        parent = parents.get(node)
        grand = parents.get(parent) if parent is not None else None
        if (
            isinstance(parent, ast.Attribute)
            and parent.attr == "append"
            and isinstance(grand, ast.Call)
            and grand.func is parent
            and len(grand.args) == 1
        ):
            value = grand.args[0]
            if not (_literal_str(value) or _allowlisted(value, grand, parents)):
                return False
            appended = True
        elif not (_is_join_of(parent, node) or _is_read(node, parents)):
            return False
    return appended


def joined_list(value: ast.AST) -> str | None:
    """``parts`` of ``" ".join(parts)``, else None."""
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "join"
        and _literal_str(value.func.value)
        and len(value.args) == 1
        and isinstance(value.args[0], ast.Name)
    ):
        return value.args[0].id
    return None


def _uses(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)


def _is_join_of(call: ast.AST | None, node: ast.AST) -> bool:
    return isinstance(call, ast.Call) and joined_list(call) is not None and node in call.args


def _is_read(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """``parts[-1]``, ``len(parts)``, ``if parts``: reads that cannot add to it."""
    parent = parents.get(node)
    if isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Load):
        return True
    if isinstance(parent, ast.BoolOp | ast.Compare | ast.If | ast.UnaryOp):
        return True
    return (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Name)
        and (parent.func.id in ("len", "bool"))
    )


def _literal_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _allowlisted(value: ast.expr, at: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """``value`` is a name an enclosing ``if name not in {...}`` sent to this ``else`` branch."""
    if not isinstance(value, ast.Name):
        return False
    child, node = at, parents.get(at)
    while node is not None:
        if (
            isinstance(node, ast.If)
            and child in node.orelse
            and _not_in_literals(node.test, value.id)
        ):
            return True
        child, node = node, parents.get(node)
    return False


def _not_in_literals(test: ast.expr, name: str) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == name
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.NotIn)
        and isinstance(test.comparators[0], ast.Set | ast.List | ast.Tuple)
        and all(_literal_str(e) for e in test.comparators[0].elts)
    )
