"""The circuit breaker lives in the store: a second connection (another process: a hook run, a
worker) honours a circuit the first one opened, until the cool-down passes (clock seam)."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlroom.core.config import Config, load_config
from controlroom.core.llm.assistant import AssistantFactory, credentials
from controlroom.core.llm.service import LLMService
from controlroom.core.llm.shared_breaker import SharedBreaker, endpoint_key, read_breaker
from controlroom.core.llm.status import llm_status
from controlroom.core.store import Store
from tests.fake_anthropic import FAST_LLM, FakeAnthropic, llm_env

SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string", "minLength": 1}},
    "required": ["summary"],
}
VARS = {"qualname": "parse", "path": "m.py", "source": "def parse(s):\n    return s.split()"}
TASK = "explain what the function does for its callers in a single sentence please"
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def config(**overrides: object) -> Config:
    return load_config(None).with_overrides(
        {**FAST_LLM, "llm.breaker_threshold": 2, "llm.breaker_cooldown": 60.0, **overrides}
    )


@pytest.fixture
def fake():
    with FakeAnthropic() as server:
        yield server


async def process(path: Path, fake: FakeAnthropic, clock: Clock, cfg: Config) -> LLMService:
    """What a new controlroom process builds: its own connection and its own service."""
    store = await Store.open(path)
    key, base_url = credentials(cfg, llm_env(fake))
    assert key is not None
    service = LLMService(cfg, store, api_key=key, base_url=base_url, clock=clock)
    await service.refresh()
    return service


async def ask(service: LLMService, agent: str = "docs") -> dict | None:
    assistant = AssistantFactory(service, agent, "abc123")("docs")
    if assistant is None:
        return None
    return await assistant.ask(TASK, "doc_summary", VARS, SCHEMA)


async def test_a_new_process_honours_an_open_circuit_until_the_cooldown(
    tmp_path: Path, fake: FakeAnthropic
) -> None:
    path, clock, cfg = tmp_path / "state.db", Clock(), config()
    fake.default = fake.overloaded()
    first = await process(path, fake, clock, cfg)
    assert await ask(first) is None and await ask(first) is None
    assert fake.count == 2  # two failures: the threshold; the circuit is open
    await first.store.close()

    second = await process(path, fake, clock, cfg)  # a new hook run, 30 s later
    clock.now += 30
    await second.refresh()
    factory = AssistantFactory(second, "critic", "def456")
    assert factory("review") is None  # offline: the agent keeps its own findings
    assert fake.count == 2  # nothing was sent
    status = await llm_status(second.store, cfg, env=llm_env(fake), now=clock.now)
    assert status.state == "circuit-open"
    assert status.message.startswith("Claude offline: circuit open until ")
    assert status.message.endswith("after 2 failures")
    assert status.circuit is not None and status.circuit["reopens_at"] == T0 + 60

    clock.now = T0 + 61  # the cool-down has passed: one trial call goes out
    await second.refresh()
    fake.default = fake.ok({"summary": "Back."})
    assert await ask(second) == {"summary": "Back."}
    assert fake.count == 3
    row = await read_breaker(second.store, endpoint_key(fake.url))
    assert row is not None and row.failures == 0 and row.opened_at is None
    status = await llm_status(second.store, cfg, env=llm_env(fake), now=clock.now)
    assert status.state == "online"
    await second.store.close()


async def test_the_half_open_trial_is_claimed_once_across_processes(tmp_path: Path) -> None:
    path, clock = tmp_path / "state.db", Clock()
    one, two = await Store.open(path), await Store.open(path)
    try:
        a, b = (
            SharedBreaker(s, "default", threshold=1, cooldown=10, lease=5, clock=clock)
            for s in (one, two)
        )
        assert await a.record_failure("HTTP 529")  # opens
        assert not await b.acquire()  # the other process sees it open
        clock.now += 11
        assert await b.acquire()  # half-open: b takes the one trial...
        assert not await a.acquire()  # ...and a may not
        assert await b.record_failure("HTTP 529 again")  # a failed trial opens it again
        await a.load()
        assert not a.available() and a.row.last_error == "HTTP 529 again"
        clock.now += 11
        assert await a.acquire()
        clock.now += 6  # a's trial never reported (crashed): its lease lapses
        assert await b.acquire()
        await b.record_success()
        await a.load()
        assert a.available() and a.row.failures == 0
    finally:
        await one.close()
        await two.close()
