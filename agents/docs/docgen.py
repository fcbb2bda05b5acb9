"""Google-style docstrings from code, offline and deterministic, and the diff that inserts them.

What a function says about itself (signature, annotations, defaults, ``return``/``yield`` and
``raise`` statements) becomes the Args/Returns/Raises sections. The one-line summary is derived from
the name; with an assistant the docs agent asks Claude for it (``agents.docs.claude.summarize_docstring``).
"""

from __future__ import annotations

import ast
import builtins
import difflib
import re
from dataclasses import dataclass, field

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


@dataclass(slots=True)
class Param:
    name: str  # "*args" and "**kwargs" keep their stars
    annotation: str | None = None
    default: str | None = None


@dataclass(slots=True)
class FunctionFacts:
    """What the code of one function says, for checking and writing its docstring."""

    params: list[Param] = field(default_factory=list)
    returns: str | None = None  # the annotation, when there is one
    returns_value: bool = False  # a ``return <value>`` (not None) or a yield exists
    is_generator: bool = False
    return_exprs: list[str] = field(default_factory=list)
    raises: dict[str, str | None] = field(default_factory=dict)  # exception -> condition


def function_facts(node: FunctionNode, *, is_method: bool = False) -> FunctionFacts:
    """The parameters, return and raise facts of ``node`` (not of functions nested in it)."""
    facts = FunctionFacts(params=_params(node, is_method=is_method))
    if node.returns is not None:
        facts.returns = ast.unparse(node.returns)
    _scan_body(node, facts)
    if facts.returns in ("None", "NoReturn", "Never"):
        facts.returns_value = False
    return facts


def _params(node: FunctionNode, *, is_method: bool) -> list[Param]:
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(
        args.defaults
    )
    out = [
        Param(a.arg, _unparse(a.annotation), _unparse(d))
        for a, d in zip(positional, defaults, strict=True)
    ]
    if is_method and out and not _is_staticmethod(node):
        out = out[1:]  # self / cls
    if args.vararg:
        out.append(Param("*" + args.vararg.arg, _unparse(args.vararg.annotation)))
    for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append(Param(a.arg, _unparse(a.annotation), _unparse(d)))
    if args.kwarg:
        out.append(Param("**" + args.kwarg.arg, _unparse(args.kwarg.annotation)))
    return out


def _is_staticmethod(node: FunctionNode) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)


def _unparse(node: ast.AST | None) -> str | None:
    return None if node is None else ast.unparse(node)


def _scan_body(node: FunctionNode, facts: FunctionFacts) -> None:
    """Return/raise statements of ``node`` itself, walking statements only (fast)."""
    stack: list[tuple[ast.stmt, ast.expr | None]] = [(child, None) for child in node.body]
    bound: frozenset[str] | None = None
    while stack:
        current, condition = stack.pop()
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(current, ast.Return) and current.value is not None:
            if not (isinstance(current.value, ast.Constant) and current.value.value is None):
                facts.returns_value = True
                facts.return_exprs.append(ast.unparse(current.value))
        elif isinstance(current, ast.Raise) and current.exc is not None:
            if bound is None:
                bound = _bound_names(node)
            name = _exception_name(current.exc, bound)
            if name and name not in facts.raises:
                facts.raises[name] = ast.unparse(condition) if condition is not None else None
        inner = current.test if isinstance(current, ast.If) else condition
        for attr in ("body", "orelse", "finalbody"):
            for child in getattr(current, attr, ()):
                stack.append((child, inner if attr == "body" else condition))
        for handler in getattr(current, "handlers", ()):
            stack.extend((child, condition) for child in handler.body)
        for case in getattr(current, "cases", ()):
            stack.extend((child, condition) for child in case.body)
    if _yields(node):
        facts.is_generator = facts.returns_value = True


def _yields(node: FunctionNode) -> bool:
    """True when ``node`` itself (not a nested function) contains ``yield``."""
    stack: list[ast.AST] = list(node.body)
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Yield | ast.YieldFrom):
            return True
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(current))
    return False


def _exception_name(exc: ast.expr, bound: frozenset[str] = frozenset()) -> str | None:
    """The exception class a ``raise`` names; None for a re-raise of a variable.

    ``X(...)`` and ``mod.X(...)`` raise X; in ``X(...).with_traceback(tb)`` the lower-case method
    is called on what it is an attribute of, so the class is the innermost call's ``X``.
    ``raise err`` or ``raise err.with_traceback(tb)`` re-raises a value (``bound`` holds the
    function's local names): not a new exception type.
    """
    target: ast.expr = exc
    while True:
        if isinstance(target, ast.Call):
            target = target.func
            if isinstance(target, ast.Attribute) and not target.attr[:1].isupper():
                target = target.value  # a method of the object: look at the object
            elif isinstance(target, ast.Name) and not target.id[:1].isupper():
                return None  # a factory function: its class is unknown here
            continue
        if isinstance(target, ast.Name):
            name = target.id
            return name if name[:1].isupper() and name not in bound else None
        if isinstance(target, ast.Attribute):
            return target.attr if target.attr[:1].isupper() else None
        return None


def _bound_names(node: FunctionNode) -> frozenset[str]:
    """Names bound inside ``node``: parameters, assignment targets, ``except ... as`` names."""
    args = node.args
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.add(sub.id)
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            names.add(sub.name)
    return frozenset(names)


# -- writing -----------------------------------------------------------------------------------


def words_of(name: str) -> list[str]:
    """``compute_totalPrice`` -> ["compute", "total", "price"]."""
    return [w.lower() for part in name.strip("_").split("_") for w in _WORDS.findall(part)]


def summary_from_name(name: str, *, kind: str, owner: str | None = None) -> str:
    """A one-line summary derived from the object's name (the offline stand-in for prose)."""
    if name == "__init__" and owner:
        return f"Initialize a {owner} instance."
    words = words_of(name) or [name]
    if kind == "class":
        return f"A {' '.join(words)}."
    if words[0] in ("is", "has", "can", "should") and len(words) > 1:
        return f"Return whether {' '.join(words[1:])}."
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


_FILLER = {
    "a", "an", "and", "call", "calls", "kind", "provides", "subclass", "cls", "false", "for", "from", "get", "given", "if", "in",
    "instance", "is", "it", "new", "none", "of", "on", "or", "result", "return", "returns", "self",
    "set", "the", "this", "to", "true", "value", "whether", "with",
}  # fmt: skip
# Calls that say nothing about what a function is for: builtins and everyday container/str methods.
_TELLING_BUILTINS = {
    "open",
    "print",
    "input",
    "eval",
    "exec",
    "compile",
    "__import__",
    "breakpoint",
}
_TRIVIAL_CALLS = (set(dir(builtins)) - _TELLING_BUILTINS) | {
    "_", "append", "cast", "copy", "decode", "encode", "endswith", "extend", "format", "get",
    "items", "join", "keys", "lower", "pop", "replace", "split", "startswith", "strip", "update",
    "upper", "values",
}  # fmt: skip
_TEXT_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def restates_name(summary: str, name: str, owner: str | None = None) -> bool:
    """True when ``summary`` says nothing beyond the object's (and its class's) name.

    "Handle.", "As sql.", "A command." and "Return ``self._name``." for ``name`` all restate it:
    every word left after fillers ("return", "the", "self", ...) is a word of the name.
    """
    said = {_stem(w) for token in _TEXT_WORDS.findall(summary) for w in words_of(token)}
    known = {_stem(w) for w in words_of(name) + (words_of(owner) if owner else [])}
    return not (said - {_stem(w) for w in _FILLER} - known)


def _statements(node: FunctionNode) -> list[ast.stmt]:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body


def _call_names(node: FunctionNode) -> list[str]:
    """Names of the functions ``node`` itself calls, in order of appearance, without repeats."""
    found: list[str] = []
    stack: list[ast.AST] = list(reversed(_statements(node)))
    while stack:
        current = stack.pop()
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(current, ast.Call):
            func = current.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id not in ("self", "cls")
            ):
                shown = f"{func.value.id}.{name}"  # module.function reads better than function
            else:
                shown = name
            if name and name not in _TRIVIAL_CALLS and shown not in found:
                found.append(shown)
        stack.extend(reversed(list(ast.iter_child_nodes(current))))
    return found


def _listing(names: list[str]) -> str:
    quoted_names = [f"``{n}()``" for n in names]
    if len(quoted_names) == 1:
        return quoted_names[0]
    return ", ".join(quoted_names[:-1]) + " and " + quoted_names[-1]


def _telling_return(node: FunctionNode, facts: FunctionFacts) -> str | None:
    """The one value ``node`` returns (or yields), when it says more than a local variable's name."""
    if facts.is_generator:
        values = {
            ast.unparse(sub.value)
            for sub in ast.walk(node)
            if isinstance(sub, ast.Yield) and sub.value is not None
        }
    else:
        values = set(facts.return_exprs)
    if len(values) != 1:
        return None
    (text,) = values
    params = {p.name.lstrip("*") for p in facts.params}
    if len(text) > 60 or (text.isidentifier() and text not in params):
        return None  # a local variable's name tells nothing
    return text


def _function_candidates(node: FunctionNode, facts: FunctionFacts) -> list[str]:
    body = _statements(node)
    if not body or all(
        isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        for s in body
    ):
        return []  # nothing the code does to describe
    out: list[str] = []
    if len(body) == 1 and isinstance(body[0], ast.Raise) and body[0].exc is not None:
        raised = _exception_name(body[0].exc)
        if raised == "NotImplementedError":
            out.append("Not implemented here: subclasses provide it.")
    single = _telling_return(node, facts)
    if single is not None:
        out.append(f"{'Yield' if facts.is_generator else 'Return'} ``{single}``.")
    calls = _call_names(node)[:3]
    if calls:
        tail = f" and return ``{single}``" if single is not None and len(calls) > 1 else ""
        out.append(f"Call {_listing(calls)}{tail}.")
    for name, condition in facts.raises.items():
        if condition and len(condition) <= 60:
            out.append(f"Raise {name} if ``{condition}``.")
    targets = [
        ast.unparse(t)
        for s in body
        if isinstance(s, ast.Assign | ast.AugAssign | ast.AnnAssign)
        for t in (s.targets if isinstance(s, ast.Assign) else [s.target])
        if isinstance(t, ast.Attribute)
    ]
    if targets:
        out.append(f"Set {', '.join(f'``{t}``' for t in dict.fromkeys(targets))}.")
    return out


def _class_candidates(node: ast.ClassDef) -> list[str]:
    bases = [ast.unparse(b) for b in node.bases if ast.unparse(b) not in ("object",)]
    methods = [
        n.name
        for n in node.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and not n.name.startswith("_")
    ][:3]
    out = []
    if bases and methods:
        out.append(f"A ``{bases[0]}`` with {_listing(methods)}.")
    if bases:
        out.append(f"A kind of ``{bases[0]}``.")
    if methods:
        out.append(f"Provides {_listing(methods)}.")
    return out


def summary_from_code(
    node: ast.AST, facts: FunctionFacts | None, *, owner: str | None = None
) -> str | None:
    """A one-line summary of what the code does (its returns, calls, raises, assignments).

    None when every summary that can be made offline only restates the name: a restating
    summary ("Handle.") would read as documentation while saying nothing.
    """
    if isinstance(node, ast.ClassDef):
        candidates = _class_candidates(node)
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and facts is not None:
        candidates = _function_candidates(node, facts)
    else:
        return None
    name = getattr(node, "name", "")
    return next((c for c in candidates if not restates_name(c, name, owner)), None)


def draft_docstring(style: str, summary: str, facts: FunctionFacts | None) -> str:
    """The docstring body in the project's convention: ``numpy``, ``sphinx`` or Google."""
    if style == "numpy":
        return numpy_docstring(summary, facts)
    if style == "sphinx":
        return sphinx_docstring(summary, facts)
    return google_docstring(summary, facts)


def _raise_text(condition: str | None) -> str:
    return f"If ``{condition}``." if condition and len(condition) <= 60 else "Raised here."


def numpy_docstring(summary: str, facts: FunctionFacts | None) -> str:
    """The docstring body in NumPy style (numpydoc sections with underlines)."""
    lines = [summary]
    if facts is None:
        return summary
    if facts.params:
        lines += ["", "Parameters", "----------"]
        for p in facts.params:
            lines.append(p.name if p.annotation is None else f"{p.name} : {p.annotation}")
            lines.append(f"    {_param_text(p)}")
    if facts.returns_value:
        section = "Yields" if facts.is_generator else "Returns"
        lines += ["", section, "-" * len(section), facts.returns or "object"]
        lines.append(f"    {_returns_text(facts, with_kind=False)}")
    if facts.raises:
        lines += ["", "Raises", "------"]
        for name, condition in facts.raises.items():
            lines += [name, f"    {_raise_text(condition)}"]
    return "\n".join(lines)


def sphinx_docstring(summary: str, facts: FunctionFacts | None) -> str:
    """The docstring body in reST/Sphinx field-list style."""
    if facts is None:
        return summary
    fields: list[str] = []
    for p in facts.params:
        fields.append(f":param {p.name.lstrip('*')}: {_param_text(p)}")
        if p.annotation is not None and not p.name.startswith("*"):
            fields.append(f":type {p.name}: {p.annotation}")
    if facts.returns_value:
        key = "yields" if facts.is_generator else "returns"
        fields.append(f":{key}: {_returns_text(facts, with_kind=False)}")
        if facts.returns and not facts.is_generator:
            fields.append(f":rtype: {facts.returns}")
    for name, condition in facts.raises.items():
        fields.append(f":raises {name}: {_raise_text(condition)}")
    return "\n".join([summary, "", *fields]) if fields else summary


def google_docstring(summary: str, facts: FunctionFacts | None) -> str:
    """The docstring body (without quotes or indentation) in Google style."""
    lines = [summary]
    if facts is None:
        return summary
    if facts.params:
        lines += ["", "Args:"]
        for p in facts.params:
            label = p.name if p.annotation is None else f"{p.name} ({p.annotation})"
            lines.append(f"    {label}: {_param_text(p)}")
    if facts.returns_value:
        lines += ["", "Yields:" if facts.is_generator else "Returns:"]
        lines.append(f"    {_returns_text(facts)}")
    if facts.raises:
        lines += ["", "Raises:"]
        for name, condition in facts.raises.items():
            lines.append(f"    {name}: {_raise_text(condition)}")
    return "\n".join(lines)


def _param_text(p: Param) -> str:
    if p.name.startswith("**"):
        return "Extra keyword arguments."
    if p.name.startswith("*"):
        return "Extra positional arguments."
    if p.default is not None:
        return f"Optional; defaults to ``{p.default}``."
    return "Required."


def _returns_text(facts: FunctionFacts, *, with_kind: bool = True) -> str:
    kind = facts.returns or ""
    exprs = sorted(set(facts.return_exprs))
    if len(exprs) == 1 and len(exprs[0]) <= 50:
        detail = f"The value of ``{exprs[0]}``."
    else:
        detail = "The result."
    return f"{kind}: {detail}" if kind and with_kind else detail


def quoted(body: str, indent: str) -> list[str]:
    """The docstring as source lines (with newlines) at ``indent``."""
    prefix = 'r"""' if "\\" in body else '"""'
    body = body.replace('"""', "'''")
    parts = body.split("\n")
    if len(parts) == 1:
        return [f'{indent}{prefix}{body}"""\n']
    out = [f"{indent}{prefix}{parts[0]}\n"]
    out += [f"{indent}{line}\n" if line else "\n" for line in parts[1:]]
    out.append(f'{indent}"""\n')
    return out


def planned_insertion(lines: list[str], node: ast.AST, body: str) -> tuple[int, list[str]] | str:
    """Where and what to insert for ``body`` as the docstring of ``node``, or why it cannot be.

    The docstring goes right after the header (a multi-line signature included), never between a
    decorator and its def: when the first statement is itself decorated (a class whose first
    member is a ``@property``), its decorators belong to it and the docstring goes above them.
    Comment lines between the header and the first statement stay below the docstring.
    """
    stmts = getattr(node, "body", None)
    if not stmts:
        return "empty body"
    first = stmts[0]
    first_line = lines[first.lineno - 1]
    if first_line[: first.col_offset].strip():
        return "the body starts on the definition's line"
    indent = first_line[: len(first_line) - len(first_line.lstrip())]
    return _header_end(node, lines), quoted(body, indent)


def insertion_fix(
    path: str, lines: list[str], node: ast.AST, body: str
) -> tuple[str | None, str | None]:
    """A unified diff inserting ``body`` as the docstring of ``node``; (diff, reason-if-none).

    ``lines`` is the file's text split with ``keepends=True``.
    """
    plan = planned_insertion(lines, node, body)
    if isinstance(plan, str):
        return None, plan
    at, added = plan
    return insertion_diff(path, lines, at, added), None


def _header_end(node: ast.AST, lines: list[str] | None = None) -> int:
    """The last line of a def/class header (where the colon is)."""
    first = node.body[0]  # type: ignore[attr-defined]
    start = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", ()))])
    at = max(start - 1, _signature_end(node))
    if lines is not None:
        floor = _signature_end(node)
        while at > floor and (not lines[at - 1].strip() or lines[at - 1].lstrip().startswith("#")):
            at -= 1
    return at


def _signature_end(node: ast.AST) -> int:
    """The last line holding part of the signature (arguments, annotations, bases)."""
    parts: list[ast.AST] = []
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        args = node.args
        parts += [*args.posonlyargs, *args.args, *args.kwonlyargs, *args.defaults]
        parts += [d for d in args.kw_defaults if d is not None]
        parts += [a for a in (args.vararg, args.kwarg, node.returns) if a is not None]
    elif isinstance(node, ast.ClassDef):
        parts += [*node.bases, *node.keywords]
    ends = [getattr(p, "end_lineno", None) or 0 for p in parts]
    return max([getattr(node, "lineno", 1), *ends])


def with_insertion(lines: list[str], at: int, added: list[str]) -> str:
    """The text of ``lines`` with ``added`` inserted after the first ``at`` lines."""
    head = lines[:at]
    if head and not head[-1].endswith("\n"):
        head = [*head[:-1], head[-1] + "\n"]
    return "".join([*head, *added, *lines[at:]])


def insertion_diff(path: str, lines: list[str], at: int, added: list[str], context: int = 3) -> str:
    """A unified diff inserting ``added`` after the first ``at`` lines of ``lines``.

    Built directly (one hunk) instead of diffing whole files: thousands of fixes stay cheap.
    """
    before = lines[max(0, at - context) : at]
    after = lines[at : at + context]
    old_start = at - len(before) + 1
    old_count = len(before) + len(after)
    new_count = old_count + len(added)
    if old_count == 0:
        old_start = 0
    hunk = [" " + ln for ln in before] + ["+" + ln for ln in added]
    hunk += [" " + ln for ln in after]
    if after and not after[-1].endswith("\n"):
        hunk[-1] += "\n\\ No newline at end of file\n"
    header = f"@@ -{old_start},{old_count} +{old_start if old_count else 1},{new_count} @@\n"
    return f"--- a/{path}\n+++ b/{path}\n" + header + "".join(hunk)


def unified_diff(path: str, old: list[str], new: list[str]) -> str:
    """A ``git apply``-able unified diff, marking a last line without a newline."""
    out: list[str] = []
    for line in difflib.unified_diff(old, new, f"a/{path}", f"b/{path}", n=3):
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out)
