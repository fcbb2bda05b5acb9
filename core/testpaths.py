"""The one rule for "is this test code", shared by every agent (docs/critic.md, "Test code").

A **test path** is a repository-relative path (``/``-separated) that is:

- under a ``tests/`` directory at any depth (``tests/unit/test_x.py``, ``pkg/tests/helpers.py``);
- under a ``test/`` or ``testing/`` directory that is the repository's top-level folder
  (``test/test_io.py``, ``testing/conftest.py``). Nested ``pkg/test/`` and ``pkg/testing/`` are not
  test paths: they are usually helper packages a library ships to its users (``django/test``,
  ``numpy/testing``), library code like any other;
- a file named ``test_*.py``, ``*_test.py``, ``conftest.py`` or ``tests.py`` (Django's per-app
  test module), in any directory.

**Test code** is code in a test path, or a function whose name starts with ``test_`` (a test that
pytest would collect) anywhere, including the methods of a class in library code.
"""

from __future__ import annotations

from pathlib import PurePosixPath

TEST_DIRS_ANYWHERE = frozenset({"tests"})
TEST_DIRS_AT_ROOT = frozenset({"test", "testing"})
TEST_FILE_NAMES = frozenset({"conftest.py", "tests.py"})


def is_test_path(path: str) -> bool:
    """True when ``path`` is a test module or lies in a test directory (see the module doc)."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if not parts:
        return False
    name, folders = parts[-1], parts[:-1]
    if any(part in TEST_DIRS_ANYWHERE for part in folders):
        return True
    if folders and folders[0] in TEST_DIRS_AT_ROOT:
        return True
    if name in TEST_FILE_NAMES:
        return True
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def is_test_symbol(symbol: str | None) -> bool:
    """True when the dotted ``symbol`` (``Class.method``) is, or is inside, a ``test_*`` function."""
    return symbol is not None and any(part.startswith("test_") for part in symbol.split("."))


def is_test_code(path: str, symbol: str | None = None) -> bool:
    """True for anything in a test path, and for ``test_*`` functions in any file."""
    return is_test_path(path) or is_test_symbol(symbol)


__all__ = ["is_test_code", "is_test_path", "is_test_symbol"]
