"""The docs agent with an assistant: Claude writes the summary line (fake Messages API server)."""

from __future__ import annotations

import ast

import pytest

from controlroom.agents.docs.agent import DocWriterAgent
from controlroom.core.config import load_config
from controlroom.core.git import GitRepository
from controlroom.core.llm.assistant import make_assistant_factory
from controlroom.core.model import AgentContext
from tests.fake_anthropic import FAST_LLM, FakeAnthropic, llm_env

SOURCE = '"""Calc."""\n\n\ndef add(a: int, b: int = 1) -> int:\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n'


@pytest.fixture
def fake():
    with FakeAnthropic() as server:
        yield server


async def test_the_assistant_writes_the_summary_and_the_fix_still_applies(repo, store, fake):
    sha = repo.commit({"calc.py": SOURCE})
    factory = make_assistant_factory(
        load_config(None).with_overrides(FAST_LLM), store, agent_name="docs", env=llm_env(fake)
    )
    fake.script(fake.ok({"summary": "Return the sum of two integers"}))
    ctx = AgentContext(
        repo_path=repo.path,
        config={"assistant_max": 1},
        assistant_factory=factory,
    )
    out = await DocWriterAgent().analyze(GitRepository(repo.path).changeset(sha), ctx)
    add, sub = sorted((f for f in out.findings if f.rule == "DOC100"), key=lambda f: f.line)
    assert add.extra["summary_source"] == "assistant"
    assert add.extra["docstring"].startswith("Return the sum of two integers.\n\nArgs:\n")
    assert sub.extra["summary_source"] == "code"  # assistant_max = 1: one call only
    assert fake.count == 1 and out.metrics["assistant_summaries"] == 1
    (repo.path / "fix.patch").write_text(add.suggested_fix, encoding="utf-8")
    repo.git("apply", "fix.patch")
    tree = ast.parse((repo.path / "calc.py").read_text(encoding="utf-8"))
    assert ast.get_docstring(tree.body[1]) == add.extra["docstring"]


async def test_an_unusable_answer_keeps_the_offline_summary(repo, store, fake):
    sha = repo.commit({"calc.py": SOURCE})
    factory = make_assistant_factory(
        load_config(None).with_overrides(FAST_LLM), store, agent_name="docs", env=llm_env(fake)
    )
    fake.default = fake.ok({"summary": "two\nlines"})
    ctx = AgentContext(repo_path=repo.path, config={}, assistant_factory=factory)
    out = await DocWriterAgent().analyze(GitRepository(repo.path).changeset(sha), ctx)
    assert {f.extra["summary_source"] for f in out.findings if f.rule == "DOC100"} == {"code"}


async def test_the_assistant_completes_a_draft_the_code_could_not_summarise(repo, store, fake):
    source = '"""H."""\n\n\nclass Handler:\n    """Base."""\n\n    def handle(self, request):\n        ...\n'
    sphinx = '"""Geo."""\n\n\ndef area(w, h):\n    """Area.\n\n    :param w: Width.\n    :param h: Height.\n    """\n    return w * h\n'
    sha = repo.commit({"h.py": source, "geo.py": sphinx})  # a reST project
    factory = make_assistant_factory(
        load_config(None).with_overrides(FAST_LLM), store, agent_name="docs", env=llm_env(fake)
    )
    fake.script(fake.ok({"summary": "Serve one request"}))
    ctx = AgentContext(repo_path=repo.path, config={}, assistant_factory=factory)
    out = await DocWriterAgent().analyze(GitRepository(repo.path).changeset(sha), ctx)
    (finding,) = [f for f in out.findings if f.rule == "DOC100"]
    assert finding.extra["summary_source"] == "assistant" and "_draft" not in finding.extra
    assert finding.extra["docstring"] == "Serve one request.\n\n:param request: Required."
    (repo.path / "fix.patch").write_text(finding.suggested_fix, encoding="utf-8")
    repo.git("apply", "fix.patch")
    method = ast.parse((repo.path / "h.py").read_text(encoding="utf-8")).body[1].body[1]
    assert ast.get_docstring(method) == finding.extra["docstring"]
