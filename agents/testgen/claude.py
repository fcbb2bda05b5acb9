"""The test generator's Claude step: a pytest module for one function, kept only if it validates."""

from __future__ import annotations

import ast
from collections.abc import Awaitable, Callable
from typing import Any

from controlroom.core.llm.agent_steps import keep_offline, record_outcome

__all__ = ["keep_offline", "record_outcome", "write_test"]

TEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"code": {"type": "string", "minLength": 20}},
    "required": ["code"],
}


def looks_like_pytest(code: str) -> bool:
    """Parses, and defines at least one ``test_`` function."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
        for node in ast.walk(tree)
    )


async def write_test(
    assistant: Any,
    *,
    module: str,
    qualname: str,
    source: str,
    validate: Callable[[str], Awaitable[bool]] | None = None,
) -> str | None:
    """Tests: a pytest module for ``module.qualname``, or None.

    ``validate(code)`` is the agent's own check (run it in a worktree subprocess with a timeout;
    True only when the tests pass). A failing answer is retried once a tier up; only code that
    passed ``validate`` is returned.
    """
    if assistant is None:
        return None

    async def check(answer: dict[str, Any]) -> bool:
        code = answer["code"]
        if not looks_like_pytest(code):
            return False
        return True if validate is None else bool(await validate(code))

    answer = await assistant.ask(
        f"generate pytest tests with edge cases for {qualname}",
        "test_writer",
        {"module": module, "qualname": qualname, "source": source},
        TEST_SCHEMA,
        validate=check,
    )
    return None if answer is None else answer["code"]
