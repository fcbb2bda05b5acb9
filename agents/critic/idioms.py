"""A call used as the default of many parameters in one file is that file's idiom, not an
accident (docs/critic.md, "Context"): Typer's ``typer.Option(...)``, FastAPI's ``Depends(...)``
and ``Query(...)``, a library's own ``Default(...)`` marker. bugbear's B008 ("function call in
argument defaults") flags each of them; they are declarations, computed once on purpose, so they
rank low. Calls whose value is meant to differ per call (the clock, random ids) stay as ruled:
computed once at import, they are the bug B008 is about.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

IDIOM_MIN = 3  # parameters of one file defaulting to the same call
_CALLEE = re.compile(r"function call `([^`]+)`")
# Calls whose result is meant to differ each time: once at import is a bug however often it is used.
_PER_CALL = re.compile(r"(?:^|\.)(?:now|utcnow|today|time|monotonic|uuid[14]|random\w*|token_\w+)$")


def callee(message: str) -> str | None:
    """The call B008's message names (``typer.Option``), or None."""
    match = _CALLEE.search(message)
    return match.group(1) if match else None


def default_calls(diagnostics: Iterable[tuple[str, str | None, str]]) -> Counter[tuple[str, str]]:
    """How many B008 diagnostics of each file name each call, from (path, rule, message)."""
    return Counter(
        (path, name)
        for path, rule, message in diagnostics
        if rule == "B008" and (name := callee(message)) is not None
    )


def idiom_reason(name: str | None, uses: int) -> str | None:
    """Why a B008 on ``name`` ranks low (its ``uses`` in the file make it an idiom), or None."""
    if name is None or uses < IDIOM_MIN or _PER_CALL.search(name):
        return None
    return f"`{name}(...)` is the default of {uses} parameters in this file: a declaration idiom"
