"""The LLM path's state for the pane and the run-once report: online, or why not.

Cheap to import (no anthropic SDK): the report and the CLI use it with or without a key.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controlroom.core.config import Config
from controlroom.core.llm.assistant import credentials
from controlroom.core.llm.budget import BudgetLine, budget_status, recent_alerts
from controlroom.core.llm.shared_breaker import endpoint_key, read_breaker
from controlroom.core.store import Store


@dataclass(slots=True)
class LLMStatus:
    """The LLM path's state for the pane and the run-once report."""

    state: str  # "online", "no-key", "disabled", "circuit-open", "budget-exhausted"
    message: str
    circuit: dict[str, Any] | None = None
    budgets: list[BudgetLine] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "message": self.message,
            "circuit": self.circuit,
            "budgets": [b.to_dict() for b in self.budgets],
            "alerts": self.alerts,
        }


async def llm_status(
    store: Store, config: Config, *, env: Mapping[str, str] = os.environ, now: float | None = None
) -> LLMStatus:
    """Online or why not ("Claude offline: circuit open until HH:MM after N failures", "budget cap
    reached", "no ANTHROPIC_API_KEY"). The circuit is the one every process shares (the store)."""
    now = time.time() if now is None else now
    budgets = await budget_status(store, config, now)
    alerts = await recent_alerts(store, limit=10)
    key, base_url = credentials(config, env)
    breaker = await read_breaker(store, endpoint_key(base_url))
    cooldown = float(config.get("llm.breaker_cooldown"))
    circuit = breaker.to_dict(cooldown, now) if breaker else None
    if not config.get("llm.enabled"):
        state, message = (
            "disabled",
            "LLM disabled in config (llm.enabled = false): agents run offline",
        )
    elif key is None:
        state, message = "no-key", "offline: no ANTHROPIC_API_KEY set, agents run offline"
    elif breaker is not None and breaker.is_open(cooldown, now):
        state = "circuit-open"
        message = f"Claude offline: {breaker.message(cooldown)}"
    elif config.get("budgets.hard_cap") and any(
        b.exhausted and b.scope == "global" for b in budgets
    ):
        state, message = "budget-exhausted", "budget cap reached: agents run offline"
    else:
        exhausted = sorted(b.scope for b in budgets if b.exhausted)
        state = "online"
        message = "online" + (f" (cap reached for {', '.join(exhausted)})" if exhausted else "")
    return LLMStatus(state, message, circuit, budgets, alerts)


async def llm_summary(
    store: Store, config: Config, *, env: Mapping[str, str] = os.environ, now: float | None = None
) -> dict[str, Any]:
    """The compact LLM block of the run-once report (JSON-ready): state, spend, budgets, alerts."""
    from controlroom.core.llm.costs import costs_report

    now = time.time() if now is None else now
    status = await llm_status(store, config, env=env, now=now)
    report = await costs_report(store, config, now)
    periods = report["periods"]
    return {
        "state": status.state,
        "message": status.message,
        "today_usd": periods["today"]["cost_usd"],
        "month_usd": periods["month"]["cost_usd"],
        "calls_today": periods["today"]["calls"],
        "failed_calls_today": periods["today"]["failed_calls"],
        "projected_month_usd": report["projected_month_usd"],
        "unpriced_models": report["unpriced_models"],
        "budgets": [b.to_dict() for b in status.budgets],
        "alerts": [a for a in status.alerts if any(
            a["period_key"] == b.period_key and a["scope"] == b.scope for b in status.budgets
        )],
    }  # fmt: skip
