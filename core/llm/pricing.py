"""Prices per model (data/pricing.toml plus the user's ``[llm.prices]``) and the cost of a call."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any

from controlroom.core.config import Config
from controlroom.core.errors import ConfigError
from controlroom.data import data_file

RATE_FIELDS = ("input", "output", "cache_read", "cache_write")


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call, as the API's ``usage`` block reports them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0  # every cache write, 5-minute and 1-hour
    cache_write_1h_tokens: int = 0  # of which 1-hour writes (usage.cache_creation)

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per million tokens. ``cache_write`` is the 5-minute write price; ``cache_write_1h``
    the 1-hour one (when a table does not give it: twice the input price, Anthropic's rule)."""

    input: float
    output: float
    cache_read: float
    cache_write: float
    cache_write_1h: float | None = None

    def cost(self, usage: Usage) -> float:
        hour = min(usage.cache_write_1h_tokens, usage.cache_write_tokens)
        hour_rate = self.input * 2 if self.cache_write_1h is None else self.cache_write_1h
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_read_tokens * self.cache_read
            + (usage.cache_write_tokens - hour) * self.cache_write
            + hour * hour_rate
        ) / 1_000_000


@dataclass(frozen=True, slots=True)
class ModelPrice:
    model: str
    rates: Rates
    source: str = ""
    taken: str = ""
    long_prompt_threshold: int | None = None  # prompts above this many tokens pay long_rates
    long_rates: Rates | None = None

    def rates_for(self, prompt_tokens: int) -> Rates:
        threshold = self.long_prompt_threshold
        if self.long_rates and threshold is not None and prompt_tokens > threshold:
            return self.long_rates
        return self.rates

    def cost(self, usage: Usage) -> float:
        return self.rates_for(usage.prompt_tokens).cost(usage)

    @property
    def is_free(self) -> bool:
        rates = [self.rates, *([self.long_rates] if self.long_rates else [])]
        return all(getattr(r, f) == 0 for r in rates for f in RATE_FIELDS)


class PriceTable:
    """Model id -> price. ``cost()`` is None for an unpriced model: never a silent zero."""

    def __init__(self, prices: dict[str, ModelPrice]) -> None:
        self.prices = prices

    def get(self, model: str) -> ModelPrice | None:
        return self.prices.get(model)

    def is_priced(self, model: str) -> bool:
        return model in self.prices

    def cost(self, model: str, usage: Usage) -> float | None:
        price = self.prices.get(model)
        return None if price is None else price.cost(usage)


def _rates(table: dict[str, Any], where: str, source: str | None) -> Rates:
    values = {}
    for name in RATE_FIELDS:
        value = table.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{where}.{name} must be a number >= 0", path=source)
        values[name] = float(value)
    hour = table.get("cache_write_1h")
    if hour is not None and (
        isinstance(hour, bool) or not isinstance(hour, int | float) or hour < 0
    ):
        raise ConfigError(f"{where}.cache_write_1h must be a number >= 0", path=source)
    return Rates(**values, cache_write_1h=None if hour is None else float(hour))


def _model_price(model: str, table: Any, where: str, source: str | None) -> ModelPrice:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table", path=source)
    long = table.get("long_prompt")
    long_rates = threshold = None
    if isinstance(long, dict):
        long_rates = _rates(long, f"{where}.long_prompt", source)
        threshold = int(long.get("threshold_tokens", 0)) or None
    return ModelPrice(
        model=model,
        rates=_rates(table, where, source),
        source=str(table.get("source", "")),
        taken=str(table.get("taken", "")),
        long_prompt_threshold=threshold,
        long_rates=long_rates,
    )


def load_packaged_prices() -> dict[str, ModelPrice]:
    document = tomllib.loads(data_file("pricing.toml").read_text(encoding="utf-8"))
    return {
        model: _model_price(model, table, f"models.{model}", "pricing.toml")
        for model, table in document.get("models", {}).items()
    }


def load_prices(config: Config | None = None) -> PriceTable:
    """Packaged prices with the user's ``[llm.prices."<model>"]`` tables on top."""
    prices = load_packaged_prices()
    if config is not None:
        source = str(config.source) if config.source else None
        for model, table in config.section("llm").get("prices", {}).items():
            user = _model_price(model, table, f"llm.prices.{model}", source)
            if not user.source:
                user = ModelPrice(model, user.rates, "config override", "", None, None)
            prices[model] = user
    return PriceTable(prices)
