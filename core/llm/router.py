"""Tiered routing: which model answers a call, and the rule that chose it.

Routing is decided by the job, never by the words of a task (a task's text names functions and
files of the repository under analysis: hostile input). Precedence: an explicit model
(``llm.model``, set by ``--model``) > the agent's own model (``[llm.agents.<name>] model``) > the
agent's tier (``[llm.agents.<name>] tier``) > the purpose's tier (``[llm.purposes.<purpose>] tier``)
> ``llm.default_tier``. Escalation moves one tier up.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlroom.core.config import Config
from controlroom.core.errors import ConfigError

TIERS = ("haiku", "sonnet", "opus")
DEFAULT_MODELS = {
    "haiku": "claude-haiku-5-5",
    "sonnet": "claude-sonnet-5-5",
    "opus": "claude-opus-5-5",
}


@dataclass(frozen=True, slots=True)
class Route:
    tier: str  # haiku / sonnet / opus, or "" when an explicit model is outside the tier map
    model: str
    rule: str  # e.g. "purpose:review", "agent-default:docs", "override:llm.model"


class Router:
    """Routes an agent's call for a purpose to a tier and a model id."""

    def __init__(self, config: Config) -> None:
        llm = config.section("llm")
        self.source = str(config.source) if config.source else None
        self.models: dict[str, str] = {**DEFAULT_MODELS, **dict(llm.get("tiers", {}))}
        self.override = str(llm.get("model", "") or "")
        self.default_tier = str(llm.get("default_tier", "sonnet"))
        self.purposes = {
            name: str(table.get("tier", ""))
            for name, table in dict(llm.get("purposes", {})).items()
            if isinstance(table, dict)
        }
        self.agents = {name: self._agent(name, v) for name, v in llm.get("agents", {}).items()}

    def _agent(self, name: str, table: object) -> dict[str, str]:
        where = f"llm.agents.{name}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table", path=self.source)
        unknown = set(table) - {"tier", "model"}
        if unknown:
            raise ConfigError(f"unknown key {where}.{sorted(unknown)[0]}", path=self.source)
        tier = table.get("tier")
        if tier is not None and tier not in TIERS:
            raise ConfigError(
                f"{where}.tier must be one of {', '.join(TIERS)}, not {tier!r}", path=self.source
            )
        model = table.get("model")
        if model is not None and (not isinstance(model, str) or not model):
            raise ConfigError(f"{where}.model must be a non-empty string", path=self.source)
        return {k: str(v) for k, v in table.items()}

    def tier_of(self, model: str) -> str:
        for tier, mapped in self.models.items():
            if mapped == model:
                return tier
        return ""

    def family_tier(self, model: str) -> str:
        """The tier of a model id: the tier it is configured for, else the family its id names
        (``claude-sonnet-4-5-20250929`` is sonnet); "" for a model of no tier's family."""
        mapped = self.tier_of(model)
        if mapped:
            return mapped
        parts = model.lower().split("-")
        return next((tier for tier in TIERS if tier in parts), "")

    def route(self, agent: str = "", purpose: str = "") -> Route:
        """The tier, model and rule for a call of ``agent`` for ``purpose``."""
        if self.override:
            return Route(self.tier_of(self.override), self.override, "override:llm.model")
        own = self.agents.get(agent, {})
        if own.get("model"):
            model = own["model"]
            return Route(self.tier_of(model), model, f"agent-model:{agent}")
        if own.get("tier"):
            return self._tier(own["tier"], f"agent-default:{agent}")
        if self.purposes.get(purpose) in TIERS:
            return self._tier(self.purposes[purpose], f"purpose:{purpose}")
        return self._tier(self.default_tier, "default")

    def _tier(self, tier: str, rule: str) -> Route:
        return Route(tier, self.models[tier], rule)

    def escalate(self, route: Route) -> Route | None:
        """One tier up, or None at the top (or for an explicit model outside the tiers)."""
        if route.tier not in TIERS or route.rule.startswith(("override:", "agent-model:")):
            return None
        index = TIERS.index(route.tier)
        if index + 1 >= len(TIERS):
            return None
        up = TIERS[index + 1]
        return Route(up, self.models[up], f"escalation:{route.tier}->{up}")
