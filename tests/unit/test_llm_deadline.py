"""Claude calls end inside their agent's time: a hanging API, a 429 with a long retry-after and an
agent with no time left, through the real SDK against the local fake; and an agent whose Claude
step fails keeps its offline findings."""

from __future__ import annotations

import time

import pytest

from controlroom.core.config import Config, load_config
from controlroom.core.git import GitRepository
from controlroom.core.llm.assistant import make_assistant_factory
from controlroom.core.llm.ledger import recent_calls
from controlroom.core.model import AgentContext, RunStatus
from controlroom.core.pipeline import run_agent_locally
from controlroom.core.plugins import load_agents
from controlroom.core.store import Store
from tests.fake_anthropic import FAST_LLM, FakeAnthropic, llm_env

SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string", "minLength": 1}},
    "required": ["summary"],
}
VARS = {"qualname": "parse", "path": "m.py", "source": "def parse(s):\n    return s.split()"}
TASK = "explain what the function does for its callers in a single sentence please"


def config(**overrides: object) -> Config:
    return load_config(None).with_overrides({**FAST_LLM, "llm.timeout": 60.0, **overrides})


@pytest.fixture
def fake():
    with FakeAnthropic() as server:
        yield server


def assistant_with(store: Store, fake: FakeAnthropic, cfg: Config, seconds_left: float):
    factory = make_assistant_factory(cfg, store, agent_name="docs", env=llm_env(fake))
    ctx = AgentContext(repo_path=store.path.parent, config={}, assistant_factory=factory)
    ctx.deadline = time.monotonic() + seconds_left
    assistant = ctx.assistant("docs")
    assert assistant is not None and assistant.deadline == ctx.deadline
    return assistant


async def test_a_hang_ends_the_margin_before_the_agent_deadline(
    store: Store, fake: FakeAnthropic
) -> None:
    fake.default = fake.hang()
    cfg = config(**{"llm.deadline": 60.0, "llm.deadline_margin": 0.5})
    assistant = assistant_with(store, fake, cfg, seconds_left=1.5)
    started = time.monotonic()
    assert await assistant.ask(TASK, "doc_summary", VARS, SCHEMA) is None
    elapsed = time.monotonic() - started
    assert 0.8 <= elapsed < 1.4  # ~1.0 s: the agent's 1.5 s less the 0.5 s margin
    assert assistant.summary()["problems"] == 1
    assert assistant.problems[0].startswith("timeout")
    [row] = await recent_calls(store)
    assert row["status"] == "timeout"


async def test_a_long_retry_after_gives_up_at_once(store: Store, fake: FakeAnthropic) -> None:
    fake.default = fake.retry_later(3600)
    cfg = config(**{"llm.max_retries": 5})
    assistant = assistant_with(store, fake, cfg, seconds_left=20.0)
    started = time.monotonic()
    assert await assistant.ask(TASK, "doc_summary", VARS, SCHEMA) is None
    assert time.monotonic() - started < 2  # not 3600 s, nor the 18 s left
    assert fake.count == 1  # no retry: the wait would outlive the agent
    [row] = await recent_calls(store)
    assert row["status"] == "timeout" and "retry-after 3600" in row["error"]
    assert "429" in row["error"]


async def test_a_short_retry_after_within_the_budget_is_honoured(
    store: Store, fake: FakeAnthropic
) -> None:
    fake.script(fake.retry_later(1), fake.ok({"summary": "Fine."}))
    assistant = assistant_with(store, fake, config(**{"llm.max_retries": 2}), seconds_left=20.0)
    assert await assistant.ask(TASK, "doc_summary", VARS, SCHEMA) == {"summary": "Fine."}
    assert fake.count == 2 and assistant.problems == []


async def test_no_time_left_sends_nothing(store: Store, fake: FakeAnthropic) -> None:
    cfg = config(**{"llm.deadline_margin": 2.0})
    assistant = assistant_with(store, fake, cfg, seconds_left=1.0)
    assert await assistant.ask(TASK, "doc_summary", VARS, SCHEMA) is None
    assert fake.count == 0 and await recent_calls(store) == []
    assert assistant.problems == ["skipped: no time left in the agent's budget"]


PROBLEM = "def ask():\n    return eval(input())\n"


async def critic_run(store: Store, fake: FakeAnthropic, repo, cfg: Config, timeout: float):
    """The critic on a commit adding eval(input()), through the pipeline's own runner."""
    repo.commit({"README.md": "# x\n"}, "one")
    sha = repo.commit({"lib/calc.py": PROBLEM}, "eval")
    with GitRepository(repo.path) as git:
        change = git.changeset(sha)
    [critic] = load_agents(["critic"])
    factory = make_assistant_factory(cfg, store, agent_name="critic", commit=sha, env=llm_env(fake))
    ctx = AgentContext(
        repo_path=repo.path,
        config=cfg.section("critic"),
        assistant_factory=factory,
        settings=cfg.data,
    )
    return await run_agent_locally(critic, change, ctx, timeout=timeout)


async def test_the_critic_keeps_its_offline_findings_when_claude_hangs(
    store: Store, fake: FakeAnthropic, repo
) -> None:
    fake.default = fake.hang()
    cfg = config(**{"llm.deadline": 60.0, "llm.deadline_margin": 1.0})
    run = await critic_run(store, fake, repo, cfg, timeout=3.0)
    assert run.status is RunStatus.OK, run.error
    assert run.duration_s < 3.0
    assert "S307" in {f.rule for f in run.output.findings}
    assert fake.count == 1  # the review; the security triage after it finds no time left
    assert run.output.metrics["llm"]["problems"] == 1
    [note] = [n for n in run.output.notes if n.startswith("Claude review unavailable")]
    assert "timeout" in note and "offline findings kept" in note


async def test_an_agent_cut_off_by_its_timeout_keeps_what_it_found_offline(
    store: Store, fake: FakeAnthropic, repo
) -> None:
    """Should a Claude step still overrun (here: a margin that lets the call outlive the agent),
    the pipeline's timeout keeps the findings the agent published before it (ctx.partial)."""
    fake.default = fake.hang()
    cfg = config(**{"llm.deadline": 60.0, "llm.deadline_margin": -30.0})
    run = await critic_run(store, fake, repo, cfg, timeout=2.0)
    assert run.status is RunStatus.TIMEOUT and fake.count == 1
    assert "S307" in {f.rule for f in run.output.findings}


async def test_a_retry_after_beyond_the_cap_never_holds_a_slot(
    store: Store, fake: FakeAnthropic
) -> None:
    """Plenty of time left (no agent deadline, a 120 s call), but a 60 s retry-after would hold
    a concurrency slot for a minute: past llm.max_retry_after the call ends at once."""
    fake.default = fake.retry_later(60, status=529)
    cfg = config(**{"llm.max_retries": 3, "llm.deadline": 120.0, "llm.max_retry_after": 5.0})
    factory = make_assistant_factory(cfg, store, agent_name="docs", env=llm_env(fake))
    assistant = factory("docs")
    started = time.monotonic()
    assert await assistant.ask(TASK, "doc_summary", VARS, SCHEMA) is None
    assert time.monotonic() - started < 3 and fake.count == 1
    [row] = await recent_calls(store)
    assert row["status"] == "failed" and row["cost_usd"] == 0.0  # nothing was generated
    assert "HTTP 529: retry-after 60 s is beyond llm.max_retry_after (5 s)" in row["error"]
    assert assistant.problems[0].startswith("failed: HTTP 529: retry-after 60 s")
