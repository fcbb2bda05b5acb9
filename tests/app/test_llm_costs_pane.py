"""The Costs pane at 80x24: honest empty state, figures from the ledger, live refresh."""

from __future__ import annotations

import asyncio
import itertools

from controlroom.core.llm.ledger import CallRecord, record_call
from controlroom.core.llm.pricing import Usage, load_prices
from controlroom.core.store import Store
from controlroom.tui.panes.costs import CostsPane, bar
from tests.app.seed import FIXED_NOW

SIZE = (80, 24)
NOW = FIXED_NOW + 12 * 3600  # noon, 2026-01-01 UTC


async def add_call(store: Store, at: float, model: str, tier: str, agent: str, tokens: int) -> None:
    usage = Usage(tokens, tokens // 10)
    await record_call(store, CallRecord(at=at, agent=agent, model=model, tier=tier, status="ok",
                                        usage=usage, cost_usd=load_prices().cost(model, usage)))  # fmt: skip


async def show_costs(app, pilot) -> CostsPane:
    generation = app.refresh_generation
    await pilot.press("4")
    pane = None
    while pane is None or pane.report is None:
        generation = await app.wait_for_refresh(generation, timeout=5)
        pane = app.query_one(CostsPane)
    return pane


async def test_empty_ledger_says_so(workspace, make_app, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_costs(app, pilot)
        assert pane.report["empty"] is True
        assert pane.query_one("#costs-empty").display
        assert not pane.query_one("#costs-trend").display
        status = str(pane.query_one("#costs-status").render())
        assert "no ANTHROPIC_API_KEY" in status


async def test_figures_unpriced_and_budgets(workspace, make_app, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    store = await Store.open(workspace.db_path)
    try:
        for day in range(5):
            await add_call(store, NOW - day * 86400, "claude-haiku-5-5", "haiku", "docs", 20_000)
            await add_call(
                store, NOW - day * 86400, "claude-sonnet-5-5", "sonnet", "critic", 20_000
            )
        await add_call(store, NOW, "claude-mystery", "", "tests", 10)
    finally:
        await store.close()
    workspace = workspace.__class__(
        workspace.repo_path,
        workspace.config.with_overrides({"budgets.daily_usd": 0.1}),
        workspace.db_path,
    )
    app = make_app(workspace, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_costs(app, pilot)
        report = pane.report
        assert report["periods"]["today"]["calls"] == 3 and report["unpriced_models"] == [
            "claude-mystery"
        ]
        headline = str(pane.query_one("#costs-headline").render())
        assert "Today $0.0630" in headline and "unpriced, not counted: claude-mystery" in headline
        budgets = str(pane.query_one("#costs-right-2").render())
        assert "global" in budgets and "[######----]  63% >=50%" in budgets
        assert pane.query_one("#costs-trend").display
        # Savings and the what-if come from one computation: they agree to the cent.
        what_if = {w["mix"]: w["cost_usd"] for w in report["what_if"]}
        assert what_if["all sonnet"] == report["baseline_sonnet_usd"]
        assert f"all-Sonnet would cost ${what_if['all sonnet']:,.4f}" in headline
        # The y-axis ticks are evenly spaced, from 0, labelled as money.
        ticks = [float(label.lstrip("$")) for label in pane.y_labels]
        steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
        assert ticks[0] == 0 and len(steps) == 1 and ticks[-1] >= 0.0630, pane.y_labels
        chart = app.query_one("#costs-trend").plt.build()
        assert all(label in chart for label in pane.y_labels), chart


async def test_a_negative_saving_is_worded_as_costing_more(workspace, make_app, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    store = await Store.open(workspace.db_path)
    try:
        await add_call(store, NOW, "claude-opus-5-5", "opus", "impact", 100_000)
    finally:
        await store.close()
    app = make_app(workspace, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_costs(app, pilot)
        headline = str(pane.query_one("#costs-headline").render())
        assert "more than all-Sonnet, last 30 days (all-Sonnet would cost $" in headline
        assert "$-" not in headline


async def test_a_new_call_shows_without_a_keypress(workspace, make_app, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    app = make_app(
        workspace, background=True, runtime_factory=lambda ws, st: None, clock=lambda: NOW
    )
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_costs(app, pilot)
        assert pane.report["empty"]
        other = await Store.open(workspace.db_path)  # another process records a call
        try:
            await add_call(other, NOW - 5, "claude-haiku-5-5", "haiku", "docs", 1000)
        finally:
            await other.close()
        generation = app.refresh_generation
        deadline = asyncio.get_running_loop().time() + 5
        while pane.report["empty"]:
            generation = await app.wait_for_refresh(generation, timeout=5)
            assert asyncio.get_running_loop().time() < deadline
        assert pane.report["periods"]["today"]["calls"] == 1


def test_bars_read_without_colour():
    assert bar(0) == "[----------]" and bar(55) == "[######----]" and bar(250) == "[##########]"


async def test_an_open_circuit_of_another_process_shows_in_the_status(
    workspace, make_app, monkeypatch
):
    """A hook run opened the circuit (in the store): the pane says Claude is offline and until when."""
    from controlroom.core.llm.shared_breaker import SharedBreaker, endpoint_key

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-pane")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    store = await Store.open(workspace.db_path)
    try:
        breaker = SharedBreaker(
            store, endpoint_key("http://127.0.0.1:9"), threshold=3, cooldown=300, lease=60,
            clock=lambda: NOW,
        )  # fmt: skip
        for _ in range(3):
            await breaker.record_failure("HTTP 529: Overloaded")
    finally:
        await store.close()
    app = make_app(workspace, clock=lambda: NOW + 60)
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_costs(app, pilot)
        status = str(pane.query_one("#costs-status").render())
        assert "Claude offline: circuit open until" in status and "after 3 failures" in status
