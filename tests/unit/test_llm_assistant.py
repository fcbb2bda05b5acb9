"""The real anthropic SDK against the local fake Messages API: usage, retries, circuit, timeouts,
malformed answers, escalation and key hygiene."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import time
from pathlib import Path

import pytest

from controlroom.core.config import Config, load_config
from controlroom.core.llm.assistant import make_assistant_factory
from controlroom.core.llm.ledger import recent_calls
from controlroom.core.llm.status import llm_status
from controlroom.core.store import Store
from tests.e2e.cli import CONTROLROOM
from tests.fake_anthropic import FAST_LLM, FakeAnthropic, llm_env

SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string", "minLength": 1}},
    "required": ["summary"],
    "additionalProperties": False,
}
VARS = {"qualname": "parse", "path": "m.py", "source": "def parse(s):\n    return s.split()"}
LONG_TASK = "explain what the function does for its callers in a single sentence please"


def config(**overrides: object) -> Config:
    return load_config(None).with_overrides({**FAST_LLM, **overrides})


@pytest.fixture
def fake():
    with FakeAnthropic() as server:
        yield server


async def ask(store: Store, fake: FakeAnthropic, cfg: Config | None = None, *, task=LONG_TASK,
              agent="docs", validate=None, env=None):  # fmt: skip
    factory = make_assistant_factory(cfg or config(), store, agent_name=agent, commit="abc123",
                                     env=env or llm_env(fake))  # fmt: skip
    assistant = factory("docs")
    assert assistant is not None
    return await assistant.ask(task, "doc_summary", VARS, SCHEMA, validate=validate)


async def test_no_key_means_offline(store: Store) -> None:
    factory = make_assistant_factory(config(), store, agent_name="docs", env={})
    assert factory("docs") is None
    status = await llm_status(store, config(), env={})
    assert status.state == "no-key" and "ANTHROPIC_API_KEY" in status.message


async def test_disabled_means_offline(store: Store, fake: FakeAnthropic) -> None:
    cfg = config(**{"llm.enabled": False})
    assert make_assistant_factory(cfg, store, agent_name="docs", env=llm_env(fake))("x") is None


async def test_usage_is_recorded_exactly_as_sent(store: Store, fake: FakeAnthropic) -> None:
    usage = {"input_tokens": 1234, "output_tokens": 56, "cache_read_input_tokens": 789,
             "cache_creation_input_tokens": 10}  # fmt: skip
    fake.script(fake.ok({"summary": "Split the text into words."}, usage=usage))
    result = await ask(store, fake)
    assert result == {"summary": "Split the text into words."}
    [row] = await recent_calls(store)
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"],
            row["cache_write_tokens"]) == (1234, 56, 789, 10)  # fmt: skip
    assert row["status"] == "ok" and row["retries"] == 0 and row["commit_sha"] == "abc123"
    assert (row["agent"], row["tier"], row["model"]) == ("docs", "haiku", "claude-haiku-5-5")
    assert row["rule"] == "purpose:docs" and row["prompt"] == "doc_summary@v2"
    expected = (1234 * 0.10 + 56 * 0.50 + 789 * 0.01 + 10 * 0.125) / 1e6
    assert row["cost_usd"] == pytest.approx(expected)
    sent = fake.requests[0].body
    assert sent["model"] == "claude-haiku-5-5" and sent["tools"][0]["strict"] is True
    assert sent["tools"][0]["input_schema"]["additionalProperties"] is False
    # Haiku 5.5 may turn thinking off, and then take a forced tool call, one at most
    assert sent["thinking"] == {"type": "disabled"} and sent["output_config"] == {"effort": "low"}
    assert sent["tool_choice"] == {
        "type": "tool", "name": "submit_doc_summary", "disable_parallel_tool_use": True,
    }  # fmt: skip
    assert sent["max_tokens"] == 4000 and row["request_id"] == "req_fake_0001"
    assert all(t["name"].startswith("submit_") for t in sent["tools"])  # no tool that acts


async def test_429_then_200_is_one_row_with_its_retry_count(
    store: Store, fake: FakeAnthropic
) -> None:
    fake.script(fake.rate_limited(), fake.rate_limited(), fake.ok({"summary": "Fine."}))
    result = await ask(store, fake, config(**{"llm.max_retries": 3}))
    assert result == {"summary": "Fine."}
    assert fake.count == 3
    assert [r.retry_count for r in fake.requests] == [0, 1, 2]  # what the SDK itself sent
    [row] = await recent_calls(store)
    assert row["retries"] == 2 and row["status"] == "ok"


async def test_529_storm_opens_the_circuit(store: Store, fake: FakeAnthropic) -> None:
    fake.default = fake.overloaded()
    cfg = config(**{"llm.max_retries": 1})
    factory = make_assistant_factory(cfg, store, agent_name="critic", env=llm_env(fake))
    for _ in range(3):
        assistant = factory("review")
        assert assistant is not None
        assert await assistant.ask(LONG_TASK, "doc_summary", VARS, SCHEMA) is None
    assert fake.count == 6  # 3 calls, each tried twice
    rows = await recent_calls(store)
    assert [r["status"] for r in rows] == ["failed"] * 3 and all(r["retries"] == 1 for r in rows)
    assert "529" in rows[0]["error"]
    # The circuit is open: no assistant for anyone, and nothing more is sent.
    assert factory("review") is None
    assert make_assistant_factory(cfg, store, agent_name="tests", env=llm_env(fake))("t") is None
    assert await assistant.ask(LONG_TASK, "doc_summary", VARS, SCHEMA) is None
    assert fake.count == 6
    status = await llm_status(store, cfg, env=llm_env(fake))
    assert status.state == "circuit-open" and "circuit open" in status.message


async def test_a_hang_ends_at_the_timeout(store: Store, fake: FakeAnthropic) -> None:
    fake.script(fake.hang())
    started = time.monotonic()
    assert await ask(store, fake, config(**{"llm.timeout": 0.5})) is None
    assert time.monotonic() - started < 4
    [row] = await recent_calls(store)
    assert row["status"] == "timeout" and row["input_tokens"] == 0


async def test_the_overall_deadline_bounds_retries(store: Store, fake: FakeAnthropic) -> None:
    fake.default = fake.rate_limited(retry_after_ms=300)
    started = time.monotonic()
    cfg = config(**{"llm.max_retries": 50, "llm.deadline": 1.0})
    assert await ask(store, fake, cfg) is None
    assert time.monotonic() - started < 3
    [row] = await recent_calls(store)
    assert row["status"] == "timeout" and 2 <= row["retries"] < 50


async def test_malformed_body_is_a_recorded_failure(store: Store, fake: FakeAnthropic) -> None:
    fake.script(fake.malformed())
    assert await ask(store, fake) is None
    [row] = await recent_calls(store)
    assert row["status"] == "failed" and row["error"]


async def test_schema_failure_escalates_one_tier(store: Store, fake: FakeAnthropic) -> None:
    fake.script(fake.ok({"wrong": 1}), fake.ok({"summary": "Parse it."}))
    assert await ask(store, fake) == {"summary": "Parse it."}
    first, second = reversed(await recent_calls(store))
    assert (first["status"], first["tier"]) == ("invalid", "haiku")
    assert "schema" in first["error"]
    assert (second["status"], second["tier"], second["rule"]) == (
        "ok",
        "sonnet",
        "escalation:haiku->sonnet",
    )
    assert [r.body["model"] for r in fake.requests] == ["claude-haiku-5-5", "claude-sonnet-5-5"]


async def test_failing_validation_escalates_then_gives_up(
    store: Store, fake: FakeAnthropic
) -> None:
    """As the test writer does with a generated test that fails: one retry a tier up, no more."""
    fake.default = fake.ok({"summary": "a test that fails"})
    seen = []

    async def passes(value: dict) -> bool:
        seen.append(value["summary"])
        return False

    assert await ask(store, fake, validate=passes) is None
    assert len(seen) == 2 and fake.count == 2  # haiku, then sonnet; never opus
    statuses = [(r["tier"], r["status"], r["error"]) for r in reversed(await recent_calls(store))]
    assert statuses == [
        ("haiku", "invalid", "validation failed"),
        ("sonnet", "invalid", "validation failed"),
    ]


async def test_no_tool_call_is_asked_again_once(store: Store, fake: FakeAnthropic) -> None:
    fake.script(fake.text(), fake.text(), fake.text())
    assert await ask(store, fake) is None
    assert fake.count == 2  # one re-ask on the same model, never an escalation
    rows = await recent_calls(store)
    assert [(r["status"], r["model"]) for r in rows] == [("no_tool", "claude-haiku-5-5")] * 2
    assert "without calling submit_doc_summary" in rows[0]["error"]


async def test_the_key_never_reaches_store_logs_or_json(
    store: Store, fake: FakeAnthropic, tmp_path: Path, caplog
) -> None:
    key = "sk-ant-api03-SECRETKEYNEVERSHOWN-xyz"
    caplog.set_level(logging.DEBUG)
    fake.script(fake.ok({"summary": "Ok."}), fake.server_error(), fake.overloaded())
    env = llm_env(fake, key)
    await ask(store, fake, env=env)
    await ask(store, fake, env=env)
    assert fake.requests[0].headers["authorization"] == f"Bearer {key}"  # it was really sent
    from controlroom.core.llm.costs import costs_report

    report = await costs_report(store, config())
    status = await llm_status(store, config(), env=env)
    await store.close()
    blobs = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert b"SECRETKEYNEVERSHOWN" not in blobs
    assert key not in json.dumps({"r": report, "s": status.to_dict()}, default=str)
    assert key not in caplog.text
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    result = subprocess.run(
        [CONTROLROOM, "costs", "--json", "--repo", str(repo), "--db", str(tmp_path / "state.db")],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert key not in result.stdout + result.stderr
    assert json.loads(result.stdout)["periods"]["today"]["calls"] == 2


async def test_the_concurrency_limit_holds(store: Store, fake: FakeAnthropic) -> None:
    fake.default = fake.slow({"summary": "Slow."}, delay=0.2)
    cfg = config(**{"llm.max_concurrency": 2})
    factory = make_assistant_factory(cfg, store, agent_name="docs", env=llm_env(fake))
    results = await asyncio.gather(
        *(factory("d").ask(LONG_TASK, "doc_summary", VARS, SCHEMA) for _ in range(6))
    )
    assert results == [{"summary": "Slow."}] * 6
    assert fake.max_in_flight == 2 and fake.count == 6


async def test_cache_writes_are_priced_by_duration(store: Store, fake: FakeAnthropic) -> None:
    """1-hour cache writes cost twice the input price, 5-minute ones 1.25 times: the split comes
    from ``usage.cache_creation``."""
    usage = {"input_tokens": 1000, "output_tokens": 100, "cache_creation_input_tokens": 3000,
             "cache_creation": {"ephemeral_5m_input_tokens": 1000,
                                "ephemeral_1h_input_tokens": 2000}}  # fmt: skip
    fake.script(fake.ok({"summary": "Split the text into words."}, usage=usage))
    assert await ask(store, fake) is not None
    [row] = await recent_calls(store)
    assert (row["cache_write_tokens"], row["cache_write_1h_tokens"]) == (3000, 2000)
    expected = (1000 * 0.10 + 100 * 0.50 + 1000 * 0.125 + 2000 * 0.20) / 1e6
    assert row["cost_usd"] == pytest.approx(expected)
