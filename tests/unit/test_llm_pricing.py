"""Prices: the packaged table covers the SDK's model ids, user overrides win, unpriced is None."""

from __future__ import annotations

import typing

import pytest
from anthropic.types.model import Model

from controlroom.core.config import load_config
from controlroom.core.errors import ConfigError
from controlroom.core.llm.breaker import CircuitBreaker, CircuitState
from controlroom.core.llm.pricing import Usage, load_packaged_prices, load_prices


def test_every_sdk_model_is_priced_or_knowingly_left_out() -> None:
    literal = typing.get_args(Model)[0]
    ids = set(typing.get_args(literal))
    prices = load_prices()
    missing = {m for m in ids if not prices.is_priced(m)}
    assert missing == {"claude-mythos-preview"}  # no published per-token price
    for model in ids - missing:
        price = prices.get(model)
        assert price is not None and price.source and price.taken


def test_every_packaged_price_row_is_a_model_the_sdk_knows() -> None:
    """A row for a mistyped or retired id would price nothing and hide the real model's gap."""
    ids = set(typing.get_args(typing.get_args(Model)[0]))
    assert sorted(set(load_packaged_prices()) - ids) == []
    for tier, model in load_config(None).section("llm")["tiers"].items():
        assert model in ids and load_prices().is_priced(model), tier


def test_cost_uses_every_token_kind() -> None:
    prices = load_prices()
    usage = Usage(
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        cache_read_tokens=1_000_000,
        cache_write_tokens=1_000_000,
    )
    assert prices.cost("claude-sonnet-5-5", usage) == pytest.approx(2 + 10 + 0.10 + 2.50)
    assert prices.cost("claude-opus-5-5", usage) == pytest.approx(4 + 20 + 0.20 + 5)


def test_haiku_5_5_long_prompt_band() -> None:
    prices = load_prices()
    short = Usage(input_tokens=100_000, output_tokens=1000)
    long = Usage(input_tokens=100_001, output_tokens=1000)
    assert prices.cost("claude-haiku-5-5", short) == pytest.approx(
        (100_000 * 0.10 + 1000 * 0.50) / 1e6
    )
    assert prices.cost("claude-haiku-5-5", long) == pytest.approx(
        (100_001 * 0.50 + 1000 * 2.50) / 1e6
    )


def test_unpriced_model_is_none_not_zero() -> None:
    assert load_prices().cost("claude-unknown-9", Usage(10, 10)) is None


def test_user_override_and_free_model() -> None:
    config = load_config(None).with_overrides(
        {"llm.prices": {"local-model": {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0},
                        "claude-sonnet-5-5": {"input": 1, "output": 1, "cache_read": 1, "cache_write": 1}}}
    )  # fmt: skip
    prices = load_prices(config)
    assert prices.cost("local-model", Usage(1000, 1000)) == 0.0
    assert prices.get("local-model").is_free
    assert prices.cost("claude-sonnet-5-5", Usage(1_000_000, 0)) == pytest.approx(1.0)


def test_bad_price_override_is_a_config_error() -> None:
    config = load_config(None).with_overrides({"llm.prices": {"m": {"input": -1}}})
    with pytest.raises(ConfigError, match=r"llm.prices.m.input"):
        load_prices(config)


def test_breaker_opens_after_threshold_and_half_opens_after_cooldown() -> None:
    now = [1000.0]
    breaker = CircuitBreaker(threshold=3, cooldown=60, clock=lambda: now[0])
    assert not breaker.record_failure("529")
    assert not breaker.record_failure("529")
    assert breaker.record_failure("529")  # the third opens it
    assert breaker.state is CircuitState.OPEN and not breaker.available()
    now[0] += 60
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.acquire() and not breaker.acquire()  # one trial only
    assert breaker.record_failure("again")  # a failed trial re-opens
    assert breaker.state is CircuitState.OPEN
    now[0] += 61
    assert breaker.acquire()
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED and breaker.failures == 0
