"""The shape of one Messages API request: per-purpose caps and effort, per-model thinking and
tool choice, one strict tool.

``[llm.purposes.<purpose>]`` (review, tests, docs, impact) sets ``tier``, ``max_tokens`` (room for
thinking: thinking tokens count toward it), ``retry_max_tokens`` (the cap of the one retry after a
``max_tokens`` stop) and ``effort`` (``output_config.effort``; "" = the model's default).
``[llm.models."<id>"]`` says what a model accepts: ``thinking`` (the ``thinking.type`` to send, ""
= omit it) and ``forced_tool`` (``tool_choice`` ``tool`` when true, ``auto`` when false: forced
tool use is refused with a 400 by models that always think). Parallel tool use is always off.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from controlroom.core.config import Config
from controlroom.core.errors import ConfigError

THINKING_TYPES = ("", "disabled", "between_tools", "adaptive")
EFFORTS = ("", "low", "medium", "high", "xhigh", "max")


@dataclass(frozen=True, slots=True)
class PurposeSettings:
    tier: str
    max_tokens: int
    retry_max_tokens: int
    effort: str


@dataclass(frozen=True, slots=True)
class ModelTraits:
    thinking: str = ""  # "" = send no thinking parameter (the model's own default)
    forced_tool: bool = False


def _purpose(name: str, table: Any, fallback: int, source: str | None) -> PurposeSettings:
    where = f"llm.purposes.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table", path=source)
    unknown = set(table) - {"tier", "max_tokens", "retry_max_tokens", "effort"}
    if unknown:
        raise ConfigError(f"unknown key {where}.{sorted(unknown)[0]}", path=source)
    cap = table.get("max_tokens", fallback)
    retry: Any = table.get("retry_max_tokens", cap * 2 if isinstance(cap, int) else cap)
    for key, value in (("max_tokens", cap), ("retry_max_tokens", retry)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}.{key} must be a positive whole number", path=source)
    if retry <= cap:
        raise ConfigError(f"{where}.retry_max_tokens must be larger than max_tokens", path=source)
    effort = table.get("effort", "")
    if effort not in EFFORTS:
        raise ConfigError(f"{where}.effort must be one of {', '.join(EFFORTS[1:])}", path=source)
    tier = table.get("tier", "")
    if tier not in ("", "haiku", "sonnet", "opus"):
        raise ConfigError(f"{where}.tier must be haiku, sonnet or opus", path=source)
    return PurposeSettings(str(tier), int(cap), int(retry), str(effort))


def _traits(model: str, table: Any, source: str | None) -> ModelTraits:
    where = f'llm.models."{model}"'
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table", path=source)
    unknown = set(table) - {"thinking", "forced_tool"}
    if unknown:
        raise ConfigError(f"unknown key {where}.{sorted(unknown)[0]}", path=source)
    thinking = table.get("thinking", "")
    if thinking not in THINKING_TYPES:
        raise ConfigError(
            f"{where}.thinking must be one of {', '.join(repr(t) for t in THINKING_TYPES)}",
            path=source,
        )
    forced = table.get("forced_tool", False)
    if not isinstance(forced, bool):
        raise ConfigError(f"{where}.forced_tool must be true or false", path=source)
    return ModelTraits(str(thinking), forced)


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as strict tool use accepts it (the SDK's own transform: ``additionalProperties``
    false, unsupported bounds moved into descriptions). The local jsonschema check still applies
    the full schema to the answer."""
    import anthropic

    return anthropic.transform_schema(copy.deepcopy(schema))


class Shaper:
    """Builds the keyword arguments of ``messages.create`` for a purpose and a model."""

    def __init__(self, config: Config) -> None:
        llm = config.section("llm")
        source = str(config.source) if config.source else None
        fallback = int(llm.get("max_tokens", 2048))
        self.default = PurposeSettings("", fallback, fallback * 2, "")
        self.purposes = {
            name: _purpose(name, table, fallback, source)
            for name, table in dict(llm.get("purposes", {})).items()
        }
        self.models = {
            name: _traits(name, table, source)
            for name, table in dict(llm.get("models", {})).items()
        }

    def purpose(self, name: str) -> PurposeSettings:
        return self.purposes.get(name, self.default)

    def traits(self, model: str) -> ModelTraits:
        return self.models.get(model, ModelTraits())

    def params(
        self,
        *,
        model: str,
        purpose: str,
        max_tokens: int,
        system: str,
        user: str,
        tool_name: str,
        tool_description: str,
        schema: dict[str, Any],
    ) -> dict[str, Any]:
        traits = self.traits(model)
        settings = self.purpose(purpose)
        choice: dict[str, Any] = (
            {"type": "tool", "name": tool_name, "disable_parallel_tool_use": True}
            if traits.forced_tool
            else {"type": "auto", "disable_parallel_tool_use": True}
        )
        params: dict[str, Any] = {
            "model": model,
            "max_tokens": max_tokens,
            "system": system,
            "messages": [{"role": "user", "content": user}],
            "tools": [
                {
                    "name": tool_name,
                    "description": tool_description,
                    "input_schema": strict_schema(schema),
                    "strict": True,
                }
            ],
            "tool_choice": choice,
        }
        if traits.thinking:
            params["thinking"] = {"type": traits.thinking}
        if settings.effort:
            params["output_config"] = {"effort": settings.effort}
        return params
