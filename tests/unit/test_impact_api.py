"""griffe API comparison: cached parents and names griffe cannot resolve."""

from __future__ import annotations

import griffe
import pytest

from controlroom.agents.impact.api import breaking_changes, from_cache, load_module, to_cache

OLD = (
    '"""M."""\nfrom django.db import models\nfrom .other import Thing\n'
    '__all__ = ["models", "Thing", "f", "g"]\n\n\ndef f(a):\n    return a\n\n\ndef g():\n    pass\n'
)
NEW = (
    '"""M."""\nfrom django.db import models\nfrom .other import Thing\n'
    '__all__ = ["models", "Thing", "f"]\n\n\ndef f(a, b):\n    return a\n'
)


def test_griffe_itself_fails_on_these_aliases_and_the_comparison_survives():
    old = from_cache(to_cache(load_module("app.m", "app/m.py", OLD)))
    new = load_module("app.m", "app/m.py", NEW)
    with pytest.raises(ValueError):  # what the guard is for: griffe raises mid-comparison
        list(griffe.find_breaking_changes(old, new))
    found = [(b.rule, b.symbol, b.severity.value) for b in breaking_changes("app.m", old, new, NEW)]
    assert found == [("IMP102", "f", "high"), ("IMP101", "g", "critical")]


def test_a_cached_module_compares_like_a_fresh_one():
    fresh = load_module("app.m", "app/m.py", OLD)
    cached = from_cache(to_cache(fresh))
    new = load_module("app.m", "app/m.py", NEW)
    assert {b.object_path for b in breaking_changes("app.m", fresh, new, NEW)} == {
        b.object_path for b in breaking_changes("app.m", cached, new, NEW)
    }


def test_garbage_in_the_cache_is_a_miss():
    assert from_cache("not json") is None
    assert from_cache('{"a": 1}') is None


async def test_the_agent_uses_the_cached_parent_with_aliases(repo, store):
    from controlroom.agents.impact.agent import ImpactAgent
    from controlroom.core.git import GitRepository
    from controlroom.core.model import AgentContext
    from controlroom.core.pipeline import StoreAgentCache

    repo.commit({"app/__init__.py": "", "app/m.py": OLD.replace("pass", "return 0")})
    first = repo.commit({"app/m.py": OLD})
    second = repo.commit({"app/m.py": NEW})
    git = GitRepository(repo.path)
    cache = StoreAgentCache(store, "impact")
    agent = ImpactAgent()
    for sha in (first, second):
        ctx = AgentContext(repo_path=repo.path, config={}, cache=cache)
        out = await agent.analyze(git.changeset(sha), ctx)
    assert out.metrics["api"] == {"compared": 1, "cached": 1}
    assert sorted((f.rule, f.symbol) for f in out.findings) == [("IMP101", "g"), ("IMP102", "f")]
