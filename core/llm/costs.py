"""What the Costs pane, ``controlroom costs`` and the run-once report show, read from the daily
rollup (``llm_daily``): one indexed query, whatever the size of the ledger."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from controlroom.core.config import Config
from controlroom.core.llm.budget import budget_status
from controlroom.core.llm.pricing import PriceTable, Usage, load_prices
from controlroom.core.llm.router import TIERS, Router
from controlroom.core.store import Store

WHAT_IF_MIXES = {
    "all haiku": (100, 0, 0),
    "all sonnet": (0, 100, 0),
    "all opus": (0, 0, 100),
    "50/40/10": (50, 40, 10),
}


@dataclass(slots=True)
class Totals:
    cost_usd: float = 0.0
    calls: int = 0
    failed_calls: int = 0
    unpriced_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def add(self, row: Any) -> None:
        self.cost_usd += row["cost_usd"]
        self.calls += row["calls"]
        self.failed_calls += row["failed_calls"]
        self.unpriced_calls += row["unpriced_calls"]
        self.input_tokens += row["input_tokens"]
        self.output_tokens += row["output_tokens"]
        self.cache_read_tokens += row["cache_read_tokens"]
        self.cache_write_tokens += row["cache_write_tokens"]

    @property
    def usage(self) -> Usage:
        return Usage(
            self.input_tokens, self.output_tokens, self.cache_read_tokens, self.cache_write_tokens
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "cost_usd": round(self.cost_usd, 6),
            "calls": self.calls,
            "failed_calls": self.failed_calls,
            "unpriced_calls": self.unpriced_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
        }


@dataclass(slots=True)
class Windows:
    today: str
    week_start: str  # Monday (UTC)
    month_start: str
    trend_start: str  # 29 days before today
    since: str | None

    @property
    def first(self) -> str:
        return min(
            d for d in (self.week_start, self.month_start, self.trend_start, self.since) if d
        )


def windows(now: float, days: int = 30, since: str | None = None) -> Windows:
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    return Windows(
        today=today.isoformat(),
        week_start=(today - dt.timedelta(days=today.weekday())).isoformat(),
        month_start=today.replace(day=1).isoformat(),
        trend_start=(today - dt.timedelta(days=days - 1)).isoformat(),
        since=since,
    )


def _sum(rows: Any) -> Totals:
    totals = Totals()
    for row in rows:
        totals.add(row)
    return totals


def _grouped(rows: list[Any], key: str, start: str) -> dict[str, Totals]:
    groups: dict[str, Totals] = defaultdict(Totals)
    for row in rows:
        if row["day"] >= start:
            groups[row[key] or "unknown"].add(row)
    return dict(groups)


def _projection(month_cost: float, now: float) -> float:
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    elapsed = max((moment - start).total_seconds(), 3600.0)
    return month_cost * (following - start).total_seconds() / elapsed


def _tier_cost(prices: PriceTable, router: Router, tier: str, usage: Usage) -> float | None:
    return prices.cost(router.models[tier], usage)


async def costs_report(
    store: Store,
    config: Config,
    now: float | None = None,
    *,
    since: str | None = None,
    days: int = 30,
) -> dict[str, Any]:
    """Everything the Costs pane and ``controlroom costs --json`` show, as plain data.

    ``since`` ('YYYY-MM-DD', UTC) adds a ``since`` block: totals and breakdowns from that day on.
    """
    now = time.time() if now is None else now
    win = windows(now, days, since)
    prices = load_prices(config)
    router = Router(config)
    rows = await store.fetchall(
        "SELECT day, agent, tier, model, calls, failed_calls, unpriced_calls, input_tokens,"
        " output_tokens, cache_read_tokens, cache_write_tokens, cost_usd"
        " FROM llm_daily WHERE day >= ?",
        (win.first,),
    )
    periods = {}
    for name, first_day in (
        ("today", win.today),
        ("week", win.week_start),
        ("month", win.month_start),
    ):
        periods[name] = _sum(r for r in rows if r["day"] >= first_day)
    month_rows = [r for r in rows if r["day"] >= win.month_start]
    trend_by_day = _grouped(rows, "day", win.trend_start)
    trend = []
    for offset in range(days):
        day = (dt.date.fromisoformat(win.trend_start) + dt.timedelta(days=offset)).isoformat()
        part = trend_by_day.get(day, Totals())
        trend.append({"day": day, "cost_usd": round(part.cost_usd, 6), "calls": part.calls})
    report: dict[str, Any] = {
        "generated_at": now,
        "empty": not rows and not await store.fetchval("SELECT 1 FROM llm_calls LIMIT 1"),
        "periods": {k: v.to_dict() for k, v in periods.items()},
        "by_tier": _as_list(_grouped(_tiered(month_rows, router), "tier", win.month_start), "tier"),
        "by_agent": _as_list(_grouped(month_rows, "agent", win.month_start), "agent"),
        "by_model": _as_list(_grouped(month_rows, "model", win.month_start), "model"),
        "daily": trend,
        "projected_month_usd": round(_projection(periods["month"].cost_usd, now), 6),
    }
    trend_rows = [r for r in rows if r["day"] >= win.trend_start]
    report["routing"] = _routing(trend_rows, config, router)
    calls = await store.fetchall(
        "SELECT input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,"
        " cache_write_1h_tokens, cost_usd FROM llm_calls WHERE day >= ? AND cost_usd IS NOT NULL",
        (win.trend_start,),
    )
    repriced = reprice(calls, prices, router)
    report.update(_savings(repriced))
    report["what_if"] = _what_if(repriced, config)
    report["unpriced_models"] = sorted(
        {r["model"] for r in rows if r["unpriced_calls"] and not prices.is_priced(r["model"])}
    )
    report["budgets"] = [b.to_dict() for b in await budget_status(store, config, now)]
    if since:
        since_rows = [r for r in rows if r["day"] >= since]
        merged = _sum(since_rows)
        report["since"] = {
            "day": since,
            "totals": merged.to_dict(),
            "by_tier": _as_list(_grouped(_tiered(since_rows, router), "tier", since), "tier"),
            "by_agent": _as_list(_grouped(since_rows, "agent", since), "agent"),
            "by_model": _as_list(_grouped(since_rows, "model", since), "model"),
        }
    return report


def _as_list(groups: dict[str, Totals], key: str) -> list[dict[str, Any]]:
    ordered = sorted(groups.items(), key=lambda kv: (-kv[1].cost_usd, kv[0]))
    return [{key: name, **totals.to_dict()} for name, totals in ordered]


def _tiered(rows: list[Any], router: Router) -> list[dict[str, Any]]:
    """Rows whose tier is empty (imported, or an explicit model) get the tier of their model id."""
    return [
        {**dict(r), "tier": r["tier"] or router.family_tier(r["model"])} if not r["tier"] else r
        for r in rows
    ]


def _call_usage(call: Any) -> Usage:
    return Usage(
        call["input_tokens"], call["output_tokens"], call["cache_read_tokens"],
        call["cache_write_tokens"], call["cache_write_1h_tokens"],
    )  # fmt: skip


@dataclass(slots=True)
class Repriced:
    """The last 30 days' priced calls: what they cost, and the same calls at each tier's model."""

    calls: int
    actual_usd: float
    per_tier: dict[str, float | None]  # None: the tier's model is unpriced


def reprice(calls: list[Any], prices: PriceTable, router: Router) -> Repriced:
    """Each call priced on its own at each tier's model, as the API bills it (a price that depends
    on the prompt's length, Haiku 5.5's long-prompt band, applies per request). Only calls with a
    known cost take part, so the actual and the re-priced figures cover the same tokens."""
    per_tier: dict[str, float | None] = {}
    for tier in TIERS:
        total: float | None = 0.0
        for call in calls:
            cost = _tier_cost(prices, router, tier, _call_usage(call))
            if cost is None:
                total = None
                break
            total = (total or 0.0) + cost
        per_tier[tier] = total
    return Repriced(len(calls), sum(c["cost_usd"] for c in calls), per_tier)


def _savings(repriced: Repriced) -> dict[str, Any]:
    """The last 30 days' priced calls against the same calls at the Sonnet tier's model: the
    what-if table's "actual" and "all sonnet" rows, so the two always agree."""
    baseline = repriced.per_tier["sonnet"]
    if baseline is None:
        return {"baseline_sonnet_usd": None, "savings_usd": None, "savings_window": "30 days"}
    return {
        "baseline_sonnet_usd": round(baseline, 6),
        "savings_usd": round(baseline - repriced.actual_usd, 6),
        "savings_window": "30 days",
    }


def _routing(rows: list[Any], config: Config, router: Router) -> dict[str, Any]:
    counts = dict.fromkeys(TIERS, 0)
    other = 0
    for row in rows:
        tier = row["tier"] or router.family_tier(row["model"])
        if tier in counts:
            counts[tier] += row["calls"]
        else:
            other += row["calls"]
    total = sum(counts.values())
    target = list(config.get("llm.routing_target"))
    return {
        "calls": counts,
        "other_calls": other,
        "actual_percent": {t: (counts[t] * 100 / total if total else 0.0) for t in TIERS},
        "target_percent": dict(zip(TIERS, target, strict=False)),
    }


def _what_if(repriced: Repriced, config: Config) -> list[dict[str, Any]]:
    """The last 30 days' priced calls re-priced under other routing mixes (same tokens, other
    models); "actual" is what those calls cost."""
    mixes = {
        "actual": None,
        "target": tuple(config.get("llm.routing_target")),
        **WHAT_IF_MIXES,
    }
    out = []
    for name, mix in mixes.items():
        shares = None if mix is None else dict(zip(TIERS, mix, strict=False))
        cost: float | None
        if shares is None:
            cost = repriced.actual_usd
        elif any(repriced.per_tier[t] is None for t in TIERS if shares.get(t)):
            cost = None
        else:
            cost = sum((repriced.per_tier[t] or 0.0) * shares.get(t, 0) / 100 for t in TIERS)
        out.append(
            {"mix": name, "shares": shares, "cost_usd": None if cost is None else round(cost, 6)}
        )
    return out
