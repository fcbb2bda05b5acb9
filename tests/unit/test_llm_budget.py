"""Budgets: the hard cap sends nothing, concurrent calls near a cap never overshoot it (in one
process or two), thresholds raise stored alerts, $0-priced calls are never blocked."""

from __future__ import annotations

import asyncio
import time

import pytest

from controlroom.core.config import Config, load_config
from controlroom.core.llm.assistant import get_service, make_assistant_factory
from controlroom.core.llm.budget import Budget, budget_status, recent_alerts
from controlroom.core.llm.ledger import CallRecord, record_call
from controlroom.core.llm.pricing import Usage
from controlroom.core.llm.prompts import load_prompt
from controlroom.core.llm.status import llm_status
from controlroom.core.store import Store
from tests.fake_anthropic import FAST_LLM, FakeAnthropic, llm_env

SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}
VARS = {"qualname": "f", "path": "m.py", "source": "def f():\n    return 1"}
TASK = "write the summary line of this function's docstring for its callers"  # -> sonnet
MAX_TOKENS = 1000


def config(**overrides: object) -> Config:
    return load_config(None).with_overrides({**FAST_LLM, "llm.max_tokens": MAX_TOKENS, **overrides})


@pytest.fixture
def fake():
    with FakeAnthropic() as server:
        yield server


def estimate(cfg: Config, store: Store, fake: FakeAnthropic) -> float:
    service = get_service(cfg, store, llm_env(fake))
    system, user = load_prompt("doc_summary").render(VARS)
    value = service.estimate("claude-sonnet-5-5", system, user, SCHEMA, MAX_TOKENS)
    assert value is not None and value > 0
    return value


async def spend(store: Store, usd: float, agent: str = "someone", at: float | None = None) -> None:
    await record_call(store, CallRecord(at=at or time.time(), agent=agent, model="claude-sonnet-5-5",
                                        status="ok", cost_usd=usd, tier="sonnet"))  # fmt: skip


async def test_at_the_hard_cap_nothing_is_sent(store: Store, fake: FakeAnthropic) -> None:
    cfg = config(**{"budgets.daily_usd": 1.0})
    await spend(store, 1.0)
    factory = make_assistant_factory(cfg, store, agent_name="docs", env=llm_env(fake))
    assistant = factory("docs")
    assert assistant is not None  # the factory has not looked at the store yet
    assert await assistant.ask(TASK, "doc_summary", VARS, SCHEMA) is None
    assert fake.count == 0
    assert factory("docs") is None  # a refusal turns the agent offline
    await factory.refresh()
    assert factory("docs") is None
    assert await store.fetchval("SELECT COUNT(*) FROM events WHERE kind = 'llm.refused'") == 1
    status = await llm_status(store, cfg, env=llm_env(fake))
    assert status.state == "budget-exhausted"


async def test_per_agent_cap_only_stops_that_agent(store: Store, fake: FakeAnthropic) -> None:
    cfg = config(**{"budgets.agents": {"docs": {"daily_usd": 0.5}}})
    await spend(store, 0.5, agent="docs")
    fake.default = fake.ok({"summary": "S."})
    docs = make_assistant_factory(cfg, store, agent_name="docs", env=llm_env(fake))
    critic = make_assistant_factory(cfg, store, agent_name="critic", env=llm_env(fake))
    await docs.refresh()
    assert docs("x") is None
    assert await critic("x").ask(TASK, "doc_summary", VARS, SCHEMA) is not None
    assert fake.count == 1


async def test_concurrent_calls_near_the_cap_never_overshoot(
    store: Store, fake: FakeAnthropic
) -> None:
    cfg = config()
    each = estimate(cfg, store, fake)
    cap = 3.5 * each
    cfg = config(**{"budgets.daily_usd": cap})
    # The server bills each call at (almost) its full estimate: max_tokens of output.
    fake.default = fake.ok(
        {"summary": "S."}, usage={"input_tokens": 50, "output_tokens": MAX_TOKENS}
    )
    factories = [
        make_assistant_factory(cfg, store, agent_name=f"a{i}", env=llm_env(fake)) for i in range(12)
    ]
    results = await asyncio.gather(
        *(f("p").ask(TASK, "doc_summary", VARS, SCHEMA) for f in factories)
    )
    spent = await store.fetchval("SELECT SUM(cost_usd) FROM llm_calls")
    assert spent <= cap
    assert fake.count == sum(r is not None for r in results) == 3
    assert await store.fetchval("SELECT COUNT(*) FROM llm_reservations") == 0  # all settled


async def test_two_processes_share_the_cap(tmp_path, fake: FakeAnthropic) -> None:
    """Two connections to one store file, as a TUI and a cron run-once would have."""
    first = await Store.open(tmp_path / "shared.db")
    second = await Store.open(tmp_path / "shared.db")
    try:
        each = estimate(config(), first, fake)
        cap = 4.5 * each
        cfg = config(**{"budgets.daily_usd": cap})
        fake.default = fake.ok(
            {"summary": "S."}, usage={"input_tokens": 50, "output_tokens": MAX_TOKENS}
        )
        calls = []
        for store in (first, second):
            for i in range(6):
                factory = make_assistant_factory(cfg, store, agent_name=f"a{i}", env=llm_env(fake))
                calls.append(factory("p").ask(TASK, "doc_summary", VARS, SCHEMA))
        results = await asyncio.gather(*calls)
        assert fake.count == sum(r is not None for r in results) == 4
        assert await first.fetchval("SELECT SUM(cost_usd) FROM llm_calls") <= cap
    finally:
        await first.close()
        await second.close()


async def test_free_calls_are_never_blocked(store: Store, fake: FakeAnthropic) -> None:
    free = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}
    cfg = config(**{"budgets.daily_usd": 1.0, "llm.prices": {"claude-sonnet-5-5": free}})
    await spend(store, 5.0)
    fake.script(fake.ok({"summary": "S."}))
    assistant = make_assistant_factory(cfg, store, agent_name="docs", env=llm_env(fake))("d")
    assert await assistant.ask(TASK, "doc_summary", VARS, SCHEMA) == {"summary": "S."}
    assert fake.count == 1
    assert await store.fetchval("SELECT cost_usd FROM llm_calls ORDER BY id DESC LIMIT 1") == 0.0


async def test_thresholds_raise_alerts_once(store: Store) -> None:
    now = time.time()
    cfg = config(**{"budgets.daily_usd": 1.0, "budgets.monthly_usd": 100.0})
    budget = Budget(store, cfg, clock=lambda: now)

    def call(usd: float) -> CallRecord:
        return CallRecord(at=now, agent="critic", model="claude-sonnet-5-5", status="ok", cost_usd=usd,
                          usage=Usage(10, 10))  # fmt: skip

    assert await budget.settle(None, call(0.3)) == []
    crossed = await budget.settle(None, call(0.3))
    assert [(c.scope, c.period, c.level) for c in crossed] == [("global", "daily", 50)]
    await budget.settle(None, call(0.3))  # 90%: the 80% alert
    await budget.settle(None, call(0.05))  # 95%: nothing new
    alerts = await recent_alerts(store)
    assert sorted((a["period"], a["threshold"]) for a in alerts) == [("daily", 50), ("daily", 80)]
    lines = await budget_status(store, cfg, now)
    daily = next(line for line in lines if line.period == "daily")
    assert daily.percent == pytest.approx(95) and daily.level == 80 and not daily.exhausted
    monthly = next(line for line in lines if line.period == "monthly")
    assert monthly.level == 0


async def test_reservations_of_a_crashed_process_lapse(store: Store) -> None:
    now = [time.time()]
    cfg = config(**{"budgets.daily_usd": 1.0, "budgets.reservation_ttl": 60.0})
    budget = Budget(store, cfg, clock=lambda: now[0])
    held = await budget.reserve("critic", 0.9)
    assert not isinstance(held, str)
    assert isinstance(await budget.reserve("critic", 0.2), str)  # refused: 0.9 reserved
    now[0] += 61
    assert not isinstance(await budget.reserve("critic", 0.2), str)


async def test_budget_status_without_caps_is_empty(store: Store) -> None:
    assert await budget_status(store, config()) == []
