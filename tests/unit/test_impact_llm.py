"""The impact agent with an assistant: a consequence summary for serious commits (fake server)."""

from __future__ import annotations

import pytest

from controlroom.agents.impact.agent import ImpactAgent
from controlroom.core.config import load_config
from controlroom.core.git import GitRepository
from controlroom.core.llm.assistant import make_assistant_factory
from controlroom.core.model import AgentContext
from controlroom.core.pipeline import StoreAgentCache
from tests.fake_anthropic import FAST_LLM, FakeAnthropic, llm_env


@pytest.fixture
def fake():
    with FakeAnthropic() as server:
        yield server


async def test_a_critical_commit_gets_claudes_summary_and_a_harmless_one_does_not(
    repo, store, fake
):
    repo.commit({"pkg/__init__.py": "", "pkg/a.py": "def f():\n    return 1\n\n\ndef g():\n    pass\n",
                 "pkg/b.py": "from pkg.a import f\n", "tests/test_a.py": "from pkg.a import f\n"})  # fmt: skip
    removed = repo.commit({"pkg/a.py": "def g():\n    pass\n"})
    harmless = repo.commit({"pkg/a.py": "def g():\n    return None\n"})
    factory = make_assistant_factory(
        load_config(None).with_overrides(FAST_LLM), store, agent_name="impact", env=llm_env(fake)
    )
    fake.script(fake.ok({"summary": "f is gone; pkg.b breaks.", "risk": "high"}))
    git = GitRepository(repo.path)
    outputs = []
    for sha in (removed, harmless):
        ctx = AgentContext(
            repo_path=repo.path,
            config={},
            cache=StoreAgentCache(store, "impact"),
            assistant_factory=factory,
        )
        outputs.append(await ImpactAgent().analyze(git.changeset(sha), ctx))
    assert outputs[0].metrics["assistant_summary"] == {
        "summary": "f is gone; pkg.b breaks.",
        "risk": "high",
    }
    assert "assistant_summary" not in outputs[1].metrics
    assert fake.count == 1
