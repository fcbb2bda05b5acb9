"""``controlroom llm check``: one tiny call per configured tier, to see the key, the model ids and
the network work before an agent's first real call.

Each call is a one-line question with a small cap, sent as the agents' calls are (the model's
``thinking`` setting from ``[llm.models]``, effort low, no SDK retries). Nothing is written to the
store. A 401, a 404 (unknown model id), a connection error or any other failure is reported as one
line naming the model, the cause and the request id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controlroom.core.config import Config
from controlroom.core.llm.pricing import load_prices
from controlroom.core.llm.router import TIERS, Router
from controlroom.core.llm.shaping import Shaper

CHECK_MAX_TOKENS = 1024  # room for a little thinking before a one-word answer
QUESTION = "Reply with the single word OK."


@dataclass(slots=True)
class TierCheck:
    tier: str
    model: str
    ok: bool
    stop_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    request_id: str | None = None
    latency_ms: float = 0.0
    cost_usd: float | None = None
    error: str | None = None
    kind: str | None = None  # config / timeout / failed when not ok

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def check_params(config: Config, model: str) -> dict[str, Any]:
    """The request ``llm check`` sends to ``model``."""
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": CHECK_MAX_TOKENS,
        "messages": [{"role": "user", "content": QUESTION}],
        "output_config": {"effort": "low"},
    }
    thinking = Shaper(config).traits(model).thinking
    if thinking:
        params["thinking"] = {"type": thinking}
    return params


async def check_tiers(config: Config, api_key: str, base_url: str | None) -> list[TierCheck]:
    """One call per tier of ``[llm.tiers]`` (each model once), in tier order."""
    from controlroom.core.llm.client import ClientSettings, LLMClient
    from controlroom.core.llm.service import usage_of

    llm = config.section("llm")
    settings = ClientSettings(
        api_key=api_key,
        base_url=base_url,
        timeout=float(llm["timeout"]),
        deadline=float(llm["deadline"]),
        max_retries=0,
        max_concurrency=1,
    )
    client = LLMClient(settings)
    router, prices = Router(config), load_prices(config)
    results: list[TierCheck] = []
    seen: set[str] = set()
    try:
        for tier in TIERS:
            model = router.models[tier]
            if model in seen:
                continue
            seen.add(model)
            outcome = await client.create(**check_params(config, model))
            result = TierCheck(tier, model, outcome.message is not None)
            result.request_id, result.latency_ms = outcome.request_id, outcome.latency_ms
            if outcome.message is None:
                result.error, result.kind = outcome.error, outcome.error_kind
            else:
                usage = usage_of(outcome.message)
                result.stop_reason = getattr(outcome.message, "stop_reason", None)
                result.input_tokens, result.output_tokens = usage.input_tokens, usage.output_tokens
                result.cost_usd = prices.cost(model, usage)
            results.append(result)
            if not result.ok and outcome.status_code in (None, 401, 402):
                break  # no network, a wrong key, no credit: every other tier would say the same
    finally:
        await client.close()
    return results
