"""What a flagged call is for, read from its AST: small pure questions the critic asks before it
ranks a security finding (docs/critic.md, "Context").

Each function answers one question about an ``ast`` node or the chain of nodes from the module
down to the flagged position; none of them imports the critic.
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Callable

EXECUTE_NAMES = frozenset(
    {
        "execute",
        "executemany",
        "executescript",
        "raw",
        "extra",
        "RawSQL",
        "text",
        "query",
        "mogrify",
    }
)
LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log", "fatal"}
)
MESSAGE_FUNCTIONS = frozenset({"print", "warn", "gettext", "_", "gettext_lazy", "ngettext"})
_EXCEPTION_NAME = re.compile(r"(?:Error|Exception|Warning|Failure|Exit)$")
SHELL_PURPOSE = re.compile(r"shell|console|repl|interact", re.IGNORECASE)
ESCAPE_PURPOSE = re.compile(r"escape|(?<!un)safe|format_html", re.IGNORECASE)
SECRET_PURPOSE = re.compile(r"token|secret|passw|nonce|salt|otp|csrf|api_?key", re.IGNORECASE)
COMMAND_KEYWORDS = ("args", "cmd", "command")


def node_chain(tree: ast.AST, line: int, column: int) -> list[ast.AST]:
    """Nodes from ``tree`` down to the deepest one whose span holds (line, 0-based byte column).
    Nodes without a position (``comprehension``, ``match_case``, ``arguments``) are looked through."""
    chain = [tree]
    node = tree
    while True:
        inner = _child_holding(node, line, column)
        if inner is None:
            return chain
        chain.extend(inner)
        node = inner[-1]


def _child_holding(node: ast.AST, line: int, column: int) -> list[ast.AST] | None:
    for child in ast.iter_child_nodes(node):
        if getattr(child, "lineno", None) is None:
            deeper = _child_holding(child, line, column)
            if deeper is not None:
                return [child, *deeper]
        elif _holds(child, line, column):
            return [child]
    return None


def _holds(node: ast.AST, line: int, column: int) -> bool:
    start = getattr(node, "lineno", None)
    end = getattr(node, "end_lineno", None)
    if start is None or end is None:
        return False
    begin = (start, getattr(node, "col_offset", 0))
    finish = (end, getattr(node, "end_col_offset", 0) or 0)
    return begin <= (line, column) < finish


def nearest_call(chain: list[ast.AST]) -> ast.Call | None:
    """The innermost call in ``chain`` (the flagged call for rules that point at it or inside it)."""
    return next((n for n in reversed(chain) if isinstance(n, ast.Call)), None)


def call_name(call: ast.Call) -> str:
    """The called name: ``execute`` for ``cursor.execute(...)``, ``print`` for ``print(...)``."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def is_formatted(expr: ast.AST | None, scope: ast.AST | None = None) -> bool:
    """True when ``expr`` builds a string from a variable: an f-string with a placeholder,
    ``%`` or ``+`` with a non-constant side, ``.format(...)``, ``.join(...)`` of non-constants.
    A plain name is followed to its assignments in ``scope`` (the enclosing function)."""
    if expr is None:
        return False
    if isinstance(expr, ast.JoinedStr):
        return any(
            isinstance(v, ast.FormattedValue) and not _inert(v.value, scope) for v in expr.values
        )
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add | ast.Mod):
        return not (_constant(expr.left) and _constant(expr.right))
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
        if expr.func.attr in ("format", "format_map"):
            return True
        if expr.func.attr == "join":
            return not all(_constant(a) for a in expr.args)
    if isinstance(expr, ast.Name) and scope is not None:
        return any(is_formatted(value) for value in assigned(scope, expr.id))
    return False


def _constant(expr: ast.AST) -> bool:
    if isinstance(expr, ast.Constant):
        return True
    if isinstance(expr, ast.List | ast.Tuple):
        return all(_constant(e) for e in expr.elts)
    if isinstance(expr, ast.BinOp):
        return _constant(expr.left) and _constant(expr.right)
    if isinstance(expr, ast.JoinedStr):
        return not any(isinstance(v, ast.FormattedValue) for v in expr.values)
    return False


TEMP_NAMES = frozenset({"mkstemp", "mkdtemp", "gettempdir"})
# A placeholder whose name says it is the program to run (``f'{pager} "{path}"'``): the shell runs
# it by design, so it injects nothing the caller did not ask for.
PROGRAM_NAME = re.compile(
    r"(?:\w+_)?(?:cmd|command|program|executable|exe|editor|pager|shell)", re.I
)


def _inert(expr: ast.expr, scope: ast.AST | None) -> bool:
    """A placeholder that injects nothing: a constant, a name that says it is the program to run
    (``cmd``, ``pager``, ``editor``), or a name of ``scope`` bound only by a loop over literal
    strings (``for editor in "vim", "nano"``) or to a path ``tempfile`` made (``fd, filename =
    tempfile.mkstemp()``), and no other parameter."""
    if _constant(expr):
        return True
    if isinstance(expr, ast.Name) and PROGRAM_NAME.fullmatch(expr.id):
        return True
    if not isinstance(expr, ast.Name):
        return False
    return bound_only_by(
        scope, expr.id, loop=_constant, value=lambda v: _constant(v) or _temp_path(v)
    )


def bound_only_by(
    scope: ast.AST | None,
    name: str,
    *,
    loop: Callable[[ast.expr], bool],
    value: Callable[[ast.expr], bool],
) -> bool:
    """Whether ``name`` is bound in the function ``scope`` (never as a parameter) only by loops
    whose iterable ``loop`` accepts and assignments whose value ``value`` accepts (any other
    binding: an annotated or augmented assignment, a walrus, a ``with``: no), at least once."""
    if not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef) or name in parameters(scope):
        return False
    bound = False
    for node in ast.walk(scope):
        if isinstance(node, ast.For | ast.AsyncFor | ast.comprehension) and binds(
            node.target, name
        ):
            if not loop(node.iter):
                return False
            bound = True
        elif isinstance(node, ast.Assign) and any(binds(t, name) for t in node.targets):
            if not value(node.value):
                return False
            bound = True
        elif (
            isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr)
            and binds(node.target, name)
        ) or (
            isinstance(node, ast.With)
            and any(
                item.optional_vars is not None and binds(item.optional_vars, name)
                for item in node.items
            )
        ):
            return False
    return bound


def parameters(scope: ast.AST | None) -> set[str]:
    """The parameter names of the function ``scope`` (``*args`` and ``**kwargs`` too)."""
    if not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
        return set()
    args = scope.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {a.arg for a in every if a is not None}


def binds(target: ast.AST, name: str) -> bool:
    """Whether the assignment target ``target`` binds ``name`` (in a tuple, a list, a star)."""
    if isinstance(target, ast.Name):
        return target.id == name
    if isinstance(target, ast.Starred):
        return binds(target.value, name)
    return isinstance(target, ast.Tuple | ast.List) and any(binds(e, name) for e in target.elts)


def _temp_path(value: ast.expr) -> bool:
    """``tempfile.mkstemp()``, ``mkdtemp()``, ``gettempdir()``: a name the program made."""
    return isinstance(value, ast.Call) and call_name(value) in TEMP_NAMES


def assigned(scope: ast.AST, name: str) -> list[ast.expr]:
    """What ``name`` is assigned in ``scope``; ``name += x`` counts as ``name + x``."""
    values: list[ast.expr] = []
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                values.append(node.value)
            continue
        if not isinstance(node, ast.AnnAssign | ast.AugAssign) or node.value is None:
            continue
        if isinstance(node.target, ast.Name) and node.target.id == name:
            is_aug = isinstance(node, ast.AugAssign)
            values.append(
                ast.BinOp(ast.Name(name), ast.Add(), node.value) if is_aug else node.value
            )
    return values


def enclosing_function(chain: list[ast.AST]) -> ast.AST | None:
    """The innermost def holding the chain's last node (None at module level)."""
    return next(
        (n for n in reversed(chain) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)),
        None,
    )


def command_argument(call: ast.Call) -> ast.expr | None:
    """The command a process call runs: its first positional argument, or ``args=``/``cmd=``."""
    if call.args:
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg in COMMAND_KEYWORDS), None)


def shell_command_is_formatted(call: ast.Call, scope: ast.AST | None) -> bool:
    """True when the command string of a shell call is built from a variable (S602/S604/S605)."""
    return is_formatted(command_argument(call), scope)


def shell_command_is_inert(call: ast.Call, scope: ast.AST | None) -> bool:
    """True when nothing from outside the program reaches a shell call's command: a string
    literal, or an f-string whose every placeholder is inert (a literal, the program to run by
    name, a loop over literal names, a ``tempfile`` path)."""
    command = command_argument(call)
    if command is None:
        return False
    if isinstance(command, ast.JoinedStr):
        return all(
            _inert(v.value, scope) for v in command.values if isinstance(v, ast.FormattedValue)
        )
    return _constant(command)


def argv_is_literal(call: ast.Call) -> bool:
    """True when a process call's argv is a list/tuple literal with no formatted element (S603):
    without a shell, each element is one argument, so nothing in it can start another command."""
    argv = command_argument(call)
    if not isinstance(argv, ast.List | ast.Tuple):
        return False
    elements = [e.value if isinstance(e, ast.Starred) else e for e in argv.elts]
    return not any(is_formatted(e) for e in elements)


def code_is_constant(call: ast.Call) -> bool:
    """True when ``exec``/``eval`` runs a string literal written in the source (S102/S307)."""
    return bool(call.args) and _constant(call.args[0])


def too_short_for_a_secret(node: ast.AST) -> bool:
    """True when the flagged string (S105-S107) cannot be a credential: under four characters, a
    Python keyword, or no letter or digit at all (``token == "("``, ``token == "with"``: a
    parser's tokens)."""
    if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
        return False
    value = node.value
    return len(value) < 4 or keyword.iskeyword(value) or not any(c.isalnum() for c in value)


def builtins_stripped(call: ast.Call) -> bool:
    """True when ``exec``/``eval`` gets globals written as a dict literal that sets
    ``__builtins__`` (``eval(code, {"__builtins__": {}}, names)``): confined on purpose, though
    not a sandbox."""
    given = call.args[1] if len(call.args) > 1 else None
    given = next((k.value for k in call.keywords if k.arg == "globals"), given)
    return isinstance(given, ast.Dict) and any(
        isinstance(k, ast.Constant) and k.value == "__builtins__" for k in given.keys
    )


def string_is_message(chain: list[ast.AST]) -> bool:
    """True when the flagged string (S608) ends up in a message, not a query: in a ``raise``, an
    ``assert`` message, an exception's constructor, a logging/warnings/print call; False as
    soon as an execute-like call (``execute``, ``raw``, ``RawSQL``, ...) takes it."""
    for node in reversed(chain[:-1]):
        if isinstance(node, ast.Call):
            name = call_name(node)
            if name in EXECUTE_NAMES:
                return False
            if name in MESSAGE_FUNCTIONS or _EXCEPTION_NAME.search(name):
                return True
            if isinstance(node.func, ast.Attribute) and name in LOG_METHODS:
                return True
        elif isinstance(node, ast.Raise | ast.Assert):
            return True
        elif isinstance(node, ast.stmt):
            return False
    return False


def purpose_matches(
    pattern: re.Pattern[str], path: str, symbol: str | None, *, module: bool = True
) -> str | None:
    """The innermost name among the enclosing defs/classes (and the module's file name when
    ``module``) that matches ``pattern`` (e.g. ``interactive_shell``), else None."""
    stem = path.rsplit("/", 1)[-1].removesuffix(".py")
    names = [stem] if module else []
    names += symbol.split(".") if symbol else []
    return next((n for n in reversed(names) if pattern.search(n)), None)


__all__ = [
    "ESCAPE_PURPOSE",
    "SECRET_PURPOSE",
    "SHELL_PURPOSE",
    "argv_is_literal",
    "assigned",
    "builtins_stripped",
    "code_is_constant",
    "enclosing_function",
    "is_formatted",
    "nearest_call",
    "node_chain",
    "purpose_matches",
    "shell_command_is_formatted",
    "shell_command_is_inert",
    "string_is_message",
    "too_short_for_a_secret",
]


# An expression evaluated only to see whether it raises: ``try: ExceptionGroup`` /
# ``except NameError``, ``with pytest.raises(...): obj.attr``.
PROBE_ERRORS = {
    "NameError", "AttributeError", "ImportError", "ModuleNotFoundError", "TypeError",
    "KeyError", "IndexError", "ValueError", "LookupError", "Exception", "BaseException",
}  # fmt: skip
PROBE_CONTEXTS = ("raises", "raisesregex", "assertraises", "assertraisesregex", "suppress",
                  "warns", "assertwarns", "deprecated_call")  # fmt: skip


def _catches_probe(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(ast.unparse(k).rpartition(".")[2] in PROBE_ERRORS for k in kinds)


def is_probe(chain: list[ast.AST]) -> bool:
    """Whether the expression statement in ``chain`` is a deliberate feature test: in the body of
    a ``try`` that catches the error it probes for, or under ``with pytest.raises(...)`` (and the
    like)."""
    statement = next((n for n in reversed(chain) if isinstance(n, ast.Expr)), None)
    if statement is None:
        return False
    inner: ast.AST = statement
    for node in reversed(chain[: chain.index(statement)]):
        if (
            isinstance(node, ast.Try | ast.TryStar)
            and inner in node.body
            and any(_catches_probe(h) for h in node.handlers)
        ):
            return True
        if isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                expr = item.context_expr
                name = call_name(expr) if isinstance(expr, ast.Call) else ast.unparse(expr)
                if name.rpartition(".")[2].lower() in PROBE_CONTEXTS:
                    return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return False
        inner = node
    return False


def loop_in_try(chain: list[ast.AST]) -> bool:
    """Whether the innermost ``for`` in ``chain`` runs in the body of a ``try``: the list it
    fills keeps what came before an error, which ``list(...)`` or a comprehension would lose."""
    loops = [i for i, n in enumerate(chain) if isinstance(n, ast.For | ast.AsyncFor)]
    if not loops:
        return False
    inner: ast.AST = chain[loops[-1]]
    for node in reversed(chain[: loops[-1]]):
        if isinstance(node, ast.Try | ast.TryStar) and inner in node.body and node.handlers:
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return False
        inner = node
    return False


# The last word of a variable that holds the *name* of a secret-looking thing, not a secret:
# ``password_field_name``, ``token_type``, ``secret_header``, ``password_reset_url``.
NAME_WORDS = frozenset({
    "name", "names", "field", "fields", "label", "param", "parameter", "header", "type", "url",
    "path", "file", "prefix", "suffix", "env", "var", "column", "kind", "mode", "format",
    "template", "pattern", "regex", "placeholder", "message", "msg", "text", "title", "attr",
    "attribute", "widget", "class", "style", "help",
})  # fmt: skip
_QUOTED = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"\s*$')


def quoted_name(message: str) -> str:
    """The variable a "hardcoded password" message names (ruff ends it with ``"name"``)."""
    found = _QUOTED.search(message or "")
    return found.group(1) if found else ""


def names_a_name(variable: str) -> bool:
    """Whether ``variable`` (its last ``_`` word) holds the name of a field, header or type,
    not a secret: ``password_field_name = "password"`` is no hardcoded password."""
    words = [w for w in variable.lower().split("_") if w]
    return len(words) >= 2 and words[-1] in NAME_WORDS
