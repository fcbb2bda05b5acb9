"""The test generator's Claude step: a pytest module for one function, kept only if it validates.

The writer sees what a person writing the test would open: the function, for a method its class
(header, class attributes, every method's signature) with the constructor in full, and the nearest
existing tests (the test modules that use the same module, best first).
"""

from __future__ import annotations

import ast
import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from controlroom.agents.testgen.index import module_usage
from controlroom.core.llm.agent_steps import keep_offline, record_outcome

__all__ = ["keep_offline", "method_context", "nearest_tests", "record_outcome", "write_test"]

TEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"code": {"type": "string", "minLength": 20}},
    "required": ["code"],
}
CONSTRUCTORS = ("__init__", "__new__", "__post_init__")
TESTS_MAX_CHARS = 8_000  # of existing tests shown
SKIP_DIRS = {".git", ".controlroom", ".venv", "venv", "node_modules", "__pycache__", ".tox"}
MAX_TEST_FILES = 2_000  # read at most this many test modules when looking for the nearest


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


def _find_class(tree: ast.Module, path: list[str]) -> ast.ClassDef | None:
    body: list[ast.stmt] = tree.body
    found: ast.ClassDef | None = None
    for name in path:
        found = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == name), None)
        if found is None:
            return None
        body = found.body
    return found


def method_context(module_text: str, qualname: str) -> str:
    """For a method (``Class.method``): its class as a test writer needs it — decorators, bases,
    docstring, class attributes and fields, the constructor in full, every other method by its
    signature only. "" for a plain function or a source that does not parse."""
    if "." not in qualname:
        return ""
    try:
        tree = ast.parse(module_text)
    except (SyntaxError, ValueError):
        return ""
    cls = _find_class(tree, qualname.split(".")[:-1])
    if cls is None:
        return ""
    lines = module_text.splitlines()
    first = min([cls.lineno, *(d.lineno for d in cls.decorator_list)])
    out = lines[first - 1 : cls.body[0].lineno - 1]
    for node in cls.body:
        end = node.end_lineno or node.lineno
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name not in CONSTRUCTORS
        ):
            out += lines[start - 1 : node.body[0].lineno - 1]
            indent = " " * (node.col_offset + 4)
            out.append(f"{indent}...")
        elif not isinstance(node, ast.ClassDef):
            out += lines[start - 1 : end]
    return "\n".join(out)


def _test_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
                found.append(Path(folder) / name)
                if len(found) >= MAX_TEST_FILES:
                    return found
    return found


def nearest_tests(root: Path, module: str, qualname: str, *, limit: int = TESTS_MAX_CHARS) -> str:
    """The existing test modules closest to ``module.qualname``, best first, up to ``limit``
    characters: those that use the same class, then the same module, then a file named after the
    module (``test_<name>.py``). "" when there are none."""
    stem = module.rsplit(".", 1)[-1]
    owner = f"{module}.{qualname.rsplit('.', 1)[0]}" if "." in qualname else None
    ranked: list[tuple[int, str, str]] = []
    for path in _test_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        usage = module_usage(text, "")
        names = (usage.referenced | usage.called) if usage else frozenset()
        score = 0
        if owner and any(n == owner or n.startswith(f"{owner}.") for n in names):
            score += 4
        if any(n.startswith(f"{module}.") for n in names):
            score += 2
        if path.stem in (f"test_{stem}", f"{stem}_test"):
            score += 1
        if score:
            ranked.append((-score, str(path.relative_to(root)), text))
    parts: list[str] = []
    size = 0
    for _score, rel, text in sorted(ranked):
        room = limit - size
        if room <= 200:
            break
        shown = text if len(text) <= room else text[:room] + "\n# ... (cut)"
        parts.append(f"# --- {rel}\n{shown}")
        size += len(shown)
    return "\n".join(parts)


async def write_test(
    assistant: Any,
    *,
    module: str,
    qualname: str,
    source: str,
    validate: Callable[[str], Awaitable[bool]] | None = None,
    module_text: str = "",
    root: Path | None = None,
) -> str | None:
    """Tests: a pytest module for ``module.qualname``, or None.

    ``module_text`` (the whole file at the commit) gives a method its class and constructor;
    ``root`` (the checkout) the nearest existing tests. ``validate(code)`` is the agent's own check
    (run it in a worktree subprocess with a timeout; True only when the tests pass). A failing
    answer is retried once a tier up; only code that passed ``validate`` is returned.
    """
    if assistant is None:
        return None

    async def check(answer: dict[str, Any]) -> bool:
        code = answer["code"]
        if not looks_like_pytest(code):
            return False
        return True if validate is None else bool(await validate(code))

    context = method_context(module_text, qualname) or "(a module-level function: no class)"
    tests = ""
    if root is not None:
        tests = await asyncio.to_thread(nearest_tests, Path(root), module, qualname)
    answer = await assistant.ask(
        f"generate pytest tests with edge cases for {qualname}",
        "test_writer",
        {
            "module": module,
            "qualname": qualname,
            "source": source,
            "context": context,
            "tests": tests or "(no existing tests of this module)",
        },
        TEST_SCHEMA,
        validate=check,
    )
    return None if answer is None else answer["code"]
