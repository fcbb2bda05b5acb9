"""The Costs pane: LLM spend today / this week / this month, a 30-day trend, by tier and agent,
routing against its target, budget bars, savings against all-Sonnet and a what-if re-pricing.

Everything comes from ``core.llm.costs.costs_report`` and ``core.llm.status.llm_status`` (one
indexed query over the daily rollup). Meaning never rests on colour: budget bars are ``#`` and
``-`` with the percentage written out, unpriced models are named in words.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static
from textual_plotext import PlotextPlot

from controlroom.core.llm.costs import costs_report
from controlroom.core.llm.status import llm_status
from controlroom.tui.format import cell, nice_ticks, plain, savings_sentence, tick_intervals
from controlroom.tui.host import host
from controlroom.tui.panes.empty import EmptyState

BAR_WIDTH = 10


def money(value: float | None) -> str:
    if value is None:
        return "unpriced"
    return f"${value:,.2f}" if abs(value) >= 100 else f"${value:,.4f}"


def y_label(value: float, step: float) -> str:
    """A y-axis label with as many decimals as the step needs ($0.05, $2.5, $20)."""
    decimals = next((d for d in range(5) if abs(round(step, d) - step) < 1e-12), 4)
    return f"${value:.{decimals}f}"


def bar(percent: float, width: int = BAR_WIDTH) -> str:
    filled = max(0, min(width, round(percent / 100 * width)))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


class _PlainTable(Table):
    """A Rich table whose ``str`` cells are data (agent, tier and model names), never markup."""

    def add_row(self, *cells: Any, **kwargs: Any) -> None:
        super().add_row(*(cell(c) if isinstance(c, str | Text) else c for c in cells), **kwargs)


def _table(title: str, *columns: str) -> Table:
    table = _PlainTable(title=title, title_justify="left", box=None, pad_edge=False, expand=True)
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right", no_wrap=True)
    return table


def breakdown_table(title: str, key: str, rows: list[dict[str, Any]]) -> Table:
    table = _table(title, key.capitalize(), "Cost", "Calls")
    for row in rows[:6]:
        if row["unpriced_calls"] == row["calls"]:
            cost = "unpriced"
        else:
            cost = money(row["cost_usd"]) + ("*" if row["unpriced_calls"] else "")
        table.add_row(str(row[key])[:12], cost, str(row["calls"]))
    if not rows:
        table.add_row("-", "-", "0")
    return table


def routing_table(routing: dict[str, Any]) -> Table:
    table = _table("Routing, 30 days", "Tier", "Actual", "Target")
    for tier, actual in routing["actual_percent"].items():
        target = routing["target_percent"].get(tier)
        table.add_row(tier, f"{actual:.0f}%", "-" if target is None else f"{target}%")
    return table


def budget_lines(budgets: list[dict[str, Any]]) -> Text:
    text = Text("Budgets\n", style="bold")
    if not budgets:
        text.append("no caps set ([budgets] daily_usd, monthly_usd)")
        return text
    for b in budgets:
        state = "CAP REACHED" if b["exhausted"] else (f">={b['level']}%" if b["level"] else "ok")
        scope = b["scope"].removeprefix("agent:")
        text.append(
            f"{scope[:8]:<8} {b['period'][:5]:<5} {bar(b['percent'])} {b['percent']:3.0f}% {state}\n"
        )
    return text


def what_if_table(rows: list[dict[str, Any]]) -> Table:
    table = _table("What if (last 30 days, same tokens)", "Mix h/s/o", "Cost")
    for row in rows:
        shares = row["shares"]
        numbers = "" if shares is None else "/".join(str(v) for v in shares.values())
        label = row["mix"] if not numbers or numbers in row["mix"] else f"{row['mix']} ({numbers})"
        table.add_row(label, money(row["cost_usd"]))
    return table


def headline(report: dict[str, Any]) -> str:
    p = report["periods"]
    parts = [f"Today {money(p['today']['cost_usd'])}", f"Week {money(p['week']['cost_usd'])}",
             f"Month {money(p['month']['cost_usd'])}", f"Month-end ~{money(report['projected_month_usd'])}"]  # fmt: skip
    line = "  ".join(parts)
    saving = savings_sentence(report, money)
    if saving is not None:
        line += f"\n{saving}"
    unpriced = p["month"]["unpriced_calls"]
    if report["unpriced_models"]:
        line += (
            f"\n* unpriced, not counted: {', '.join(report['unpriced_models'])} ({unpriced} calls)"
        )
    return line


class CostsPane(Vertical):
    """The Costs pane (pane id ``costs``): one focusable scroll area (arrows, page keys scroll)."""

    DEFAULT_CSS = """
    CostsPane { height: 1fr; }
    CostsPane #costs-scroll { height: 1fr; padding: 0 1; }
    CostsPane #costs-status { height: auto; }
    CostsPane #costs-headline { height: auto; margin-bottom: 1; }
    CostsPane #costs-trend { height: 10; min-height: 8; }
    CostsPane Horizontal { height: auto; margin-top: 1; }
    CostsPane Horizontal > Static { width: 1fr; height: auto; }
    CostsPane #costs-left-1, CostsPane #costs-left-2 { margin-right: 2; }
    CostsPane #costs-whatif { height: auto; margin-top: 1; }
    CostsPane #costs-empty { height: auto; margin-top: 2; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report: dict[str, Any] | None = None
        self.y_labels: list[str] = []  # the trend's y-axis labels, evenly spaced from $0

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="costs-scroll", can_focus=True):
            yield Static("", id="costs-status", markup=False)
            yield EmptyState(
                "No LLM calls yet",
                "no LLM calls yet: set ANTHROPIC_API_KEY to let the agents use Claude. "
                "Spend, routing and budgets appear here as calls are made.",
                id="costs-empty",
            )
            yield Static("", id="costs-headline", markup=False)
            yield PlotextPlot(id="costs-trend")
            with Horizontal():
                yield Static("", id="costs-left-1")
                yield Static("", id="costs-right-1")
            with Horizontal():
                yield Static("", id="costs-left-2")
                yield Static("", id="costs-right-2")
            yield Static("", id="costs-whatif")

    async def refresh_data(self) -> None:
        store, config = host(self).store, host(self).workspace.config
        now = host(self).clock()
        report = await costs_report(store, config, now)
        status = await llm_status(store, config, env=os.environ, now=now)
        self.report = report
        alerts = [a for a in status.alerts if a["period_key"] in (_today(now), _today(now)[:7])]
        status_text = f"LLM: {status.message}"
        if alerts:
            a = alerts[0]
            status_text += f"  | ALERT: {a['scope']} {a['period']} budget at {a['threshold']}%"
        self.query_one("#costs-status", Static).update(plain(status_text))
        empty = bool(report["empty"])
        self.query_one("#costs-empty").display = empty
        for widget_id in ("#costs-headline", "#costs-trend", "#costs-whatif"):
            self.query_one(widget_id).display = not empty
        for box in self.query(Horizontal):
            box.display = not empty
        if empty:
            return
        self.query_one("#costs-headline", Static).update(plain(headline(report)))
        self.query_one("#costs-left-1", Static).update(
            breakdown_table("By tier, this month", "tier", report["by_tier"])
        )
        self.query_one("#costs-right-1", Static).update(
            breakdown_table("By agent, this month", "agent", report["by_agent"])
        )
        self.query_one("#costs-left-2", Static).update(routing_table(report["routing"]))
        self.query_one("#costs-right-2", Static).update(plain(budget_lines(report["budgets"])))
        self.query_one("#costs-whatif", Static).update(what_if_table(report["what_if"]))
        self._draw_trend(report["daily"])

    def _draw_trend(self, daily: list[dict[str, Any]]) -> None:
        plot = self.query_one("#costs-trend", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        xs = list(range(len(daily)))
        plt.bar(xs, [d["cost_usd"] for d in daily], marker="sd")
        ticks = xs[::-7][::-1]  # weekly, ending today: no two labels close enough to overlap
        # plotext hints list[float] (lists are invariant); int positions are what it documents.
        plt.xticks(ticks, [daily[i]["day"][5:] for i in ticks])  # type: ignore[arg-type]
        rows = plot.size.height - 4 if plot.size.height > 6 else 6  # less title, frame, labels
        top = max((d["cost_usd"] for d in daily), default=0.0)
        yticks = nice_ticks(top, tick_intervals(rows))
        self.y_labels = [y_label(y, yticks[1]) for y in yticks]
        plt.yticks(yticks, self.y_labels)
        plt.ylim(0, yticks[-1])
        plt.title("USD per day, last 30 days")
        plot.refresh()


def _today(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%d")
