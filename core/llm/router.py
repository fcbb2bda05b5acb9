"""Tiered routing: which model answers a task, and the rule that chose it.

Precedence: an explicit model (``llm.model``, set by ``--model``) > the agent's own model
(``[llm.agents.<name>] model``) > keyword rules (the highest matching tier wins) > the short-task
rule (under ``llm.short_task_chars`` characters -> haiku) > the agent's default tier
(``[llm.agents.<name>] tier``) > ``llm.default_tier``. Escalation moves one tier up.
"""

from __future__ import annotations

import re
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
    rule: (
        str  # e.g. "keyword:opus:security", "short<50", "agent-default:docs", "override:llm.model"
    )


def _word_pattern(word: str) -> re.Pattern[str]:
    """Whole words with common endings: ``write`` -> writes, writing, written; ``list`` -> lists,
    listed, listing. ``read`` does not match "readme"."""
    w = re.escape(word.lower())
    if word.endswith("e"):
        stem = re.escape(word[:-1].lower())
        return re.compile(rf"\b{stem}(?:e|es|ed|ing|en)\b", re.IGNORECASE)
    return re.compile(rf"\b{w}(?:s|es|ed|ing)?\b", re.IGNORECASE)


class Router:
    """Routes a task's text for an agent to a tier and a model id."""

    def __init__(self, config: Config) -> None:
        llm = config.section("llm")
        self.source = str(config.source) if config.source else None
        self.models = {**DEFAULT_MODELS, **dict(llm.get("tiers", {}))}
        self.override = str(llm.get("model", "") or "")
        self.default_tier = str(llm.get("default_tier", "sonnet"))
        self.short_chars = int(llm.get("short_task_chars", 50))
        keywords = llm.get("keywords", {})
        self.patterns = [
            (tier, word.strip().lower(), _word_pattern(word.strip()))
            for tier in reversed(TIERS)  # opus first: the highest matching tier wins
            for word in keywords.get(tier, [])
            if word.strip()
        ]
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

    def route(self, task: str, agent: str = "") -> Route:
        """The tier, model and rule for ``task`` asked by ``agent``."""
        if self.override:
            return Route(self.tier_of(self.override), self.override, "override:llm.model")
        own = self.agents.get(agent, {})
        if own.get("model"):
            model = own["model"]
            return Route(self.tier_of(model), model, f"agent-model:{agent}")
        for tier, word, pattern in self.patterns:
            if pattern.search(task):
                return self._tier(tier, f"keyword:{tier}:{word}")
        if len(task.strip()) < self.short_chars:
            return self._tier("haiku", f"short<{self.short_chars}")
        if own.get("tier"):
            return self._tier(own["tier"], f"agent-default:{agent}")
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
