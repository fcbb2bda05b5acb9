"""The costs report (pane, CLI, run-once) and the JSONL import."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import pytest

from controlroom.core.config import load_config
from controlroom.core.errors import UsageError
from controlroom.core.llm.costs import costs_report
from controlroom.core.llm.ledger import CallRecord, import_jsonl, record_call
from controlroom.core.llm.pricing import Usage, load_prices
from controlroom.core.llm.router import Router
from controlroom.core.store import Store
from tests.e2e.cli import CONTROLROOM

NOW = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC).timestamp()  # a Wednesday
DAY = 86400


async def add(store: Store, at: float, model: str, tier: str, agent: str, usage: Usage) -> None:
    cost = load_prices().cost(model, usage)
    await record_call(store, CallRecord(at=at, agent=agent, model=model, tier=tier, status="ok",
                                        usage=usage, cost_usd=cost))  # fmt: skip


async def test_empty_report_is_honest(store: Store) -> None:
    report = await costs_report(store, load_config(None), NOW)
    assert report["empty"] is True
    assert report["periods"]["month"]["calls"] == 0 and len(report["daily"]) == 30


async def test_report_figures(store: Store) -> None:
    million = Usage(input_tokens=1_000_000, output_tokens=100_000)
    await add(store, NOW, "claude-haiku-5-5", "haiku", "docs", Usage(1000, 100))
    await add(store, NOW - 1 * DAY, "claude-sonnet-5-5", "sonnet", "critic", million)  # Tuesday
    await add(store, NOW - 3 * DAY, "claude-opus-5-5", "opus", "impact", million)  # last Sunday
    await add(store, NOW - 20 * DAY, "claude-sonnet-5-5", "sonnet", "critic", million)  # October
    await add(store, NOW, "claude-mystery-1", "", "tests", Usage(10, 10))  # unpriced
    report = await costs_report(store, load_config(None), NOW)
    haiku = (1000 * 0.10 + 100 * 0.50) / 1e6
    sonnet = 2.0 + 1.0
    opus = 4.0 + 2.0
    p = report["periods"]
    assert p["today"]["cost_usd"] == pytest.approx(haiku) and p["today"]["unpriced_calls"] == 1
    assert p["week"]["cost_usd"] == pytest.approx(haiku + sonnet)
    assert p["month"]["cost_usd"] == pytest.approx(haiku + sonnet + opus)
    assert p["month"]["calls"] == 4
    assert report["unpriced_models"] == ["claude-mystery-1"]
    assert [r["tier"] for r in report["by_tier"]] == ["opus", "sonnet", "haiku", "unknown"]
    assert report["by_agent"][0]["agent"] == "impact"
    # 18 days of November elapsed (17.5 days): projection scales to 30 days.
    assert report["projected_month_usd"] == pytest.approx((haiku + sonnet + opus) * 30 / 17.5)
    # Savings: the last 30 days' priced calls at Sonnet prices (October's call too).
    baseline = (1000 * 2 + 100 * 10) / 1e6 + sonnet + sonnet + sonnet
    assert report["baseline_sonnet_usd"] == pytest.approx(baseline)
    assert report["savings_usd"] == pytest.approx(baseline - (haiku + sonnet + opus + sonnet))
    routing = report["routing"]
    assert routing["calls"] == {"haiku": 1, "sonnet": 2, "opus": 1} and routing["other_calls"] == 1
    assert routing["target_percent"] == {"haiku": 70, "sonnet": 25, "opus": 5}
    what_if = {w["mix"]: w["cost_usd"] for w in report["what_if"]}
    # One computation: the what-if's "all sonnet" is the savings' baseline, "actual" what it saves
    # against (the unpriced call's tokens are in neither).
    assert what_if["all sonnet"] == report["baseline_sonnet_usd"]
    assert what_if["all sonnet"] - what_if["actual"] == pytest.approx(report["savings_usd"])
    assert what_if["all haiku"] < what_if["target"] < what_if["all sonnet"] < what_if["all opus"]
    trend = {d["day"]: d["cost_usd"] for d in report["daily"]}
    assert report["daily"][-1]["day"] == "2026-11-18" and trend["2026-10-29"] == pytest.approx(
        sonnet
    )


async def test_since_block(store: Store) -> None:
    await add(store, NOW - 40 * DAY, "claude-sonnet-5-5", "sonnet", "critic", Usage(1000, 0))
    await add(store, NOW, "claude-sonnet-5-5", "sonnet", "critic", Usage(1000, 0))
    report = await costs_report(store, load_config(None), NOW, since="2026-10-01")
    assert report["since"]["totals"]["calls"] == 2
    assert report["since"]["by_model"][0]["model"] == "claude-sonnet-5-5"


def _import(store: Store, path: Path):
    config = load_config(None)
    return import_jsonl(store, path, load_prices(config), Router(config).family_tier)


async def test_imported_models_get_the_tier_of_their_id(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    lines = [
        f'{{"timestamp": {NOW - 3600}, "model": "{model}", "input_tokens": 1000, '
        '"output_tokens": 10}'
        for model in ("claude-sonnet-4-5-20250929", "claude-haiku-4-5", "claude-fable-5-2")
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert await _import(store, path) == 3
    tiers = [r["tier"] for r in await store.fetchall("SELECT tier FROM llm_calls ORDER BY id")]
    assert tiers == ["sonnet", "haiku", ""]
    # Rows imported before (tier left empty) are mapped by model id when the report is read.
    await store.execute("UPDATE llm_daily SET tier = '' WHERE model = 'claude-haiku-4-5'")
    report = await costs_report(store, load_config(None), NOW)
    assert sorted(r["tier"] for r in report["by_tier"]) == ["haiku", "sonnet", "unknown"]
    assert report["routing"]["calls"] == {"haiku": 1, "sonnet": 1, "opus": 0}


async def test_a_negative_saving_is_worded_as_costing_more(store: Store) -> None:
    from controlroom.tui.commands.costs import render_text

    await add(store, NOW, "claude-opus-5-5", "opus", "impact", Usage(1_000_000, 100_000))
    report = await costs_report(store, load_config(None), NOW)
    assert report["savings_usd"] == pytest.approx(-3.0)
    text = render_text(report)
    assert "Cost $3.0000 more than all-Sonnet, last 30 days (all-Sonnet would cost $3.0000)" in text
    assert "$-" not in text


async def test_import_loads_every_record(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    path.write_text(
        '{"timestamp": "2026-11-01T10:00:00Z", "model": "claude-opus-5-5", "input_tokens": 1000,'
        ' "output_tokens": 10, "cache_read_input_tokens": 5, "agent": "critic"}\n'
        "\n"
        '{"timestamp": 1793000000, "model": "claude-haiku-5-5", "input_tokens": 1, "output_tokens": 2,'
        ' "cache_write_tokens": 3}\n',
        encoding="utf-8",
    )
    assert await _import(store, path) == 2
    rows = await store.fetchall("SELECT * FROM llm_calls ORDER BY at")
    assert (
        rows[1]["agent"] == "critic" and rows[1]["tier"] == "opus" and rows[1]["source"] == "import"
    )
    assert rows[1]["cache_read_tokens"] == 5 and rows[0]["cache_write_tokens"] == 3
    assert rows[0]["agent"] == "imported"


async def test_import_keeps_the_one_hour_cache_write_split(store: Store, tmp_path: Path) -> None:
    """``usage.cache_creation`` as the API gives it: 1-hour writes cost twice the input price,
    5-minute ones the table's cache_write; without a total the split is the total."""
    path = tmp_path / "usage.jsonl"
    records = [
        {"timestamp": 1793000000, "model": "claude-sonnet-5-5", "input_tokens": 0,
         "output_tokens": 0, "cache_creation_input_tokens": 1_000_000,
         "cache_creation": {"ephemeral_5m_input_tokens": 400_000,
                            "ephemeral_1h_input_tokens": 600_000}},
        {"timestamp": 1793000001, "model": "claude-sonnet-5-5", "input_tokens": 0,
         "output_tokens": 0, "cache_creation": {"ephemeral_1h_input_tokens": 1_000_000}},
        {"timestamp": 1793000002, "model": "claude-sonnet-5-5", "input_tokens": 0,
         "output_tokens": 0, "cache_write_tokens": 10, "cache_write_1h_tokens": 4},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    assert await _import(store, path) == 3
    rows = await store.fetchall("SELECT * FROM llm_calls ORDER BY at")
    split = [(r["cache_write_tokens"], r["cache_write_1h_tokens"]) for r in rows]
    assert split == [(1_000_000, 600_000), (1_000_000, 1_000_000), (10, 4)]
    # sonnet 5.5: input $2, 5-minute write $2.50, 1-hour write 2 x input = $4 per million
    assert rows[0]["cost_usd"] == pytest.approx(0.4 * 2.50 + 0.6 * 4.0)
    assert rows[1]["cost_usd"] == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"model": "m", "input_tokens": 1, "output_tokens": 1}', "missing 'timestamp'"),
        (
            '{"timestamp": "yesterday", "model": "m", "input_tokens": 1, "output_tokens": 1}',
            "bad timestamp",
        ),
        (
            '{"timestamp": 1, "model": "m", "input_tokens": -1, "output_tokens": 1}',
            "'input_tokens' must be",
        ),
        (
            '{"timestamp": 1, "model": "m", "input_tokens": 1, "output_tokens": 1.5}',
            "'output_tokens' must be",
        ),
        ("[1, 2]", "JSON object"),
        (
            '{"timestamp": 1, "model": "m", "input_tokens": 1, "output_tokens": 1,'
            ' "cache_creation_input_tokens": 5,'
            ' "cache_creation": {"ephemeral_1h_input_tokens": 6}}',
            "is more than 'cache_creation_input_tokens' (5)",
        ),
        (
            '{"timestamp": 1, "model": "m", "input_tokens": 1, "output_tokens": 1,'
            ' "cache_creation": {"ephemeral_1h_input_tokens": "6"}}',
            "'cache_creation.ephemeral_1h_input_tokens' must be",
        ),
    ],
)
async def test_a_bad_record_names_its_line_and_imports_nothing(
    store: Store, tmp_path: Path, line: str, message: str
) -> None:
    good = '{"timestamp": 1, "model": "m", "input_tokens": 1, "output_tokens": 1}'
    path = tmp_path / "usage.jsonl"
    path.write_text(f"{good}\n{good}\n{line}\n{good}\n", encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        await _import(store, path)
    assert caught.value.message.startswith(f"{path}:3: ") and message in caught.value.message
    assert await store.fetchval("SELECT COUNT(*) FROM llm_calls") == 0


def test_cli_import_exit_codes(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"timestamp": 1, "model": "m"}\n', encoding="utf-8")
    good = tmp_path / "good.jsonl"
    good.write_text(
        '{"timestamp": 1, "model": "m", "input_tokens": 1, "output_tokens": 2}\n', encoding="utf-8"
    )
    common = ["--repo", str(repo), "--db", str(tmp_path / "s.db")]
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    run = lambda *a: subprocess.run([CONTROLROOM, *a], capture_output=True, text=True, env=env)  # noqa: E731
    failed = run("costs", "import", str(bad), *common)
    assert failed.returncode == 2
    assert failed.stderr.strip() == f"controlroom: error: {bad}:1: missing 'input_tokens'"
    assert run("costs", "import", str(good), *common).returncode == 0
    shown = run("costs", "--json", "--since", "1970-01-01", *common)
    data = json.loads(shown.stdout)
    assert data["since"]["totals"]["calls"] == 1 and data["unpriced_models"] == ["m"]
    assert data["llm"]["state"] == "no-key"
    assert run("costs", "--since", "someday", *common).returncode == 2


async def test_run_once_summary(store: Store) -> None:
    from controlroom.core.llm.budget import Budget
    from controlroom.core.llm.status import llm_summary

    config = load_config(None).with_overrides({"budgets.daily_usd": 1.0})
    await Budget(store, config, clock=lambda: NOW).settle(
        None,
        CallRecord(at=NOW, agent="critic", model="claude-sonnet-5-5", status="ok", cost_usd=0.6),
    )
    summary = await llm_summary(store, config, env={}, now=NOW)
    assert summary["state"] == "no-key" and summary["today_usd"] == pytest.approx(0.6)
    assert [(a["scope"], a["threshold"]) for a in summary["alerts"]] == [("global", 50)]
    assert summary["budgets"][0]["level"] == 50
    json.dumps(summary)


async def test_what_if_prices_each_call_not_the_months_sum(store: Store) -> None:
    """Haiku 5.5's long-prompt band applies per request: 30 calls of 10,000 prompt tokens are
    30 short prompts, not one 300,000-token prompt at five times the price."""
    small = Usage(input_tokens=10_000, output_tokens=1_000)
    for n in range(30):
        await add(store, NOW - n * 3600, "claude-sonnet-5-5", "sonnet", "critic", small)
    report = await costs_report(store, load_config(None), NOW)
    what_if = {w["mix"]: w["cost_usd"] for w in report["what_if"]}
    per_call = load_prices().cost("claude-haiku-5-5", small)
    assert what_if["all haiku"] == pytest.approx(30 * per_call)


async def test_savings_price_one_hour_cache_writes_per_call(store: Store) -> None:
    """The all-Sonnet baseline re-prices each call with its own 1-hour cache writes (2 x input),
    not the month's summed tokens at the 5-minute rate."""
    usage = Usage(cache_write_tokens=1_000_000, cache_write_1h_tokens=1_000_000)
    await add(store, NOW, "claude-haiku-5-5", "haiku", "docs", usage)
    report = await costs_report(store, load_config(None), NOW)
    assert report["baseline_sonnet_usd"] == pytest.approx(4.0)  # not 2.50
    what_if = {w["mix"]: w["cost_usd"] for w in report["what_if"]}
    assert what_if["all sonnet"] == pytest.approx(4.0)
