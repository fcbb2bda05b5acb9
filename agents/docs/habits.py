"""Which docstring sections a module's own documented functions use.

A project written in reST prose (``:param x:`` fields, what it returns said in the text) has no
``Returns`` or ``Raises`` sections anywhere: asking for one on the function a commit changed is a
style nit against the project's own habit. DOC104 (no Returns section) and DOC105 (an undocumented
exception) are raised only where the module's structured docstrings use that section: in at least
half of the documented functions that return a value (or raise), or when fewer than
``MIN_SAMPLES`` of them exist to tell.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from controlroom.agents.docs import docgen
from controlroom.agents.docs.styles import parse_docstring

MIN_SAMPLES = 3


@dataclass(frozen=True, slots=True)
class Habits:
    """Whether the module documents return values and exceptions in sections."""

    returns: bool = True
    raises: bool = True


def _uses(used: int, seen: int) -> bool:
    return seen < MIN_SAMPLES or 2 * used >= seen


def module_habits(tree: ast.Module) -> Habits:
    """The module's section habits, from its functions with a structured docstring."""
    returns = [0, 0]
    raises = [0, 0]
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        text = ast.get_docstring(node)
        if not text:
            continue
        doc = parse_docstring(text)
        if not doc.is_structured:
            continue
        facts = docgen.function_facts(node)
        if facts.returns_value:
            returns[0] += doc.has_returns
            returns[1] += 1
        if facts.raises:
            raises[0] += bool(doc.raises) or doc.has_raises_section
            raises[1] += 1
    return Habits(returns=_uses(*returns), raises=_uses(*raises))
