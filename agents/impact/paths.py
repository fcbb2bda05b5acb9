"""Which paths of a repository are a package's own code, and which of those are public API."""

from __future__ import annotations

from pathlib import PurePosixPath

from controlroom.agents.impact.scan import is_test_path

API_SKIP_NAMES = {"setup", "conftest", "noxfile", "fabfile", "manage"}
API_SKIP_DIRS = {"docs", "doc", "examples", "scripts", "benchmarks"}


def library_module(path: str) -> bool:
    """Whether ``path`` is a package's own code (not a test, script, example or migration)."""
    pure = PurePosixPath(path)
    if not path.endswith(".py") or is_test_path(path):
        return False
    if pure.stem in API_SKIP_NAMES or (pure.parts and pure.parts[0] in API_SKIP_DIRS):
        return False
    return not ("migrations" in pure.parts[:-1] or "versions" in pure.parts[:-1])


def api_module(path: str) -> bool:
    """Whether ``path`` is part of a package's public API (library code, no private part)."""
    parts = PurePosixPath(path).with_suffix("").parts
    return library_module(path) and not any(p.startswith("_") and p != "__init__" for p in parts)
