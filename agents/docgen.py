"""Google-style docstrings from code, offline and deterministic, and the diff that inserts them.

What a function says about itself (signature, annotations, defaults, ``return``/``yield`` and
``raise`` statements) becomes the Args/Returns/Raises sections. The one-line summary is derived from
the name; with an assistant the docs agent asks Claude for it (``agents.claude.summarize_docstring``).
"""

from __future__ import annotations

import ast
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
    while stack:
        current, condition = stack.pop()
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(current, ast.Return) and current.value is not None:
            if not (isinstance(current.value, ast.Constant) and current.value.value is None):
                facts.returns_value = True
                facts.return_exprs.append(ast.unparse(current.value))
        elif isinstance(current, ast.Raise) and current.exc is not None:
            name = _exception_name(current.exc)
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


def _exception_name(exc: ast.expr) -> str | None:
    target = exc.func if isinstance(exc, ast.Call) else exc
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return None


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
            when = f"If ``{condition}``." if condition and len(condition) <= 60 else "Raised here."
            lines.append(f"    {name}: {when}")
    return "\n".join(lines)


def _param_text(p: Param) -> str:
    if p.name.startswith("**"):
        return "Extra keyword arguments."
    if p.name.startswith("*"):
        return "Extra positional arguments."
    if p.default is not None:
        return f"Optional; defaults to ``{p.default}``."
    return "Required."


def _returns_text(facts: FunctionFacts) -> str:
    kind = facts.returns or ""
    exprs = sorted(set(facts.return_exprs))
    if len(exprs) == 1 and len(exprs[0]) <= 50:
        detail = f"The value of ``{exprs[0]}``."
    else:
        detail = "The result."
    return f"{kind}: {detail}" if kind else detail


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


def insertion_fix(
    path: str, lines: list[str], node: ast.AST, body: str
) -> tuple[str | None, str | None]:
    """A unified diff inserting ``body`` as the docstring of ``node``; (diff, reason-if-none).

    ``lines`` is the file's text split with ``keepends=True``.
    """
    stmts = getattr(node, "body", None)
    if not stmts:
        return None, "empty body"
    first = stmts[0]
    header_end = _header_end(node)
    first_line = lines[first.lineno - 1]
    if first_line[: first.col_offset].strip():
        return None, "the body starts on the definition's line"
    indent = first_line[: len(first_line) - len(first_line.lstrip())]
    at = header_end  # after the signature (and any comments before the first statement)
    return insertion_diff(path, lines, at, quoted(body, indent)), None


def _header_end(node: ast.AST) -> int:
    """The last line of a def/class header (where the colon is)."""
    first = node.body[0]  # type: ignore[attr-defined]
    # The header ends on the line before the first statement, or earlier if comments come between.
    return max(getattr(first, "lineno", 1) - 1, getattr(node, "lineno", 1))


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
