"""The per-process LLM service behind every assistant: route, reserve, call, validate, record."""

from __future__ import annotations

import inspect
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jsonschema

from controlroom.core.config import Config
from controlroom.core.llm.breaker import CircuitBreaker
from controlroom.core.llm.budget import Budget, Reservation, budget_status
from controlroom.core.llm.client import CallOutcome, ClientSettings, LLMClient, get_client
from controlroom.core.llm.ledger import CallRecord
from controlroom.core.llm.pricing import PriceTable, Usage, load_prices
from controlroom.core.llm.prompts import Prompt, load_prompt
from controlroom.core.llm.router import Route, Router
from controlroom.core.store import Store

log = logging.getLogger("controlroom.llm")

Validator = Callable[[dict[str, Any]], bool | Awaitable[bool]]
TOOL_OVERHEAD_CHARS = 1200  # the tool-use system prompt the API adds, generously


@dataclass(slots=True)
class Request:
    agent: str
    purpose: str
    commit: str | None
    task: str
    prompt_name: str
    variables: dict[str, Any]
    schema: dict[str, Any]
    validate: Validator | None = None
    max_tokens: int | None = None


@dataclass(slots=True)
class Attempt:
    status: str  # ok / invalid / failed / timeout / refused / offline
    value: dict[str, Any] | None = None
    detail: str | None = None


def usage_of(message: Any) -> Usage:
    """The token counts exactly as the response's ``usage`` block has them."""
    usage = getattr(message, "usage", None)
    if usage is None:
        return Usage()
    return Usage(
        input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
        output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
        cache_read_tokens=int(getattr(usage, "cache_read_input_tokens", 0) or 0),
        cache_write_tokens=int(getattr(usage, "cache_creation_input_tokens", 0) or 0),
    )


def extract_tool_input(
    message: Any, tool_name: str, schema: dict[str, Any]
) -> tuple[Any, str | None]:
    """The tool call's input when it matches ``schema``; else (None, what is wrong)."""
    for block in getattr(message, "content", None) or []:
        if getattr(block, "type", None) == "tool_use" and getattr(block, "name", None) == tool_name:
            value = getattr(block, "input", None)
            if not isinstance(value, dict):
                return None, "tool input is not an object"
            error = jsonschema.exceptions.best_match(
                jsonschema.Draft202012Validator(schema).iter_errors(value)
            )
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                return None, f"output does not match the schema at {where}: {error.message}"[:300]
            return value, None
    return None, f"the model did not call {tool_name}"


class LLMService:
    """Shared by every assistant of one store in one process: one breaker, one budget."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        api_key: str,
        base_url: str | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        llm = config.section("llm")
        self.config = config
        self.store = store
        self.clock = clock
        self.settings = ClientSettings(
            api_key=api_key,
            base_url=base_url,
            timeout=float(llm.get("timeout", 60.0)),
            deadline=float(llm.get("deadline", 180.0)),
            max_retries=int(llm.get("max_retries", 2)),
            max_concurrency=int(llm.get("max_concurrency", 4)),
        )
        self.max_tokens = int(llm.get("max_tokens", 2048))
        self.escalation = bool(llm.get("escalate", True))
        self.router = Router(config)
        self.prices: PriceTable = load_prices(config)
        self.budget = Budget(store, config, clock)
        self.breaker = CircuitBreaker(
            int(llm.get("breaker_threshold", 5)), float(llm.get("breaker_cooldown", 300.0)), clock
        )
        self.chars_per_token = float(config.get("budgets.chars_per_token", 2.5))
        self.exhausted: set[str] = set()  # "global" or agent names refused by a hard cap
        self._stored_open = False

    @property
    def client(self) -> LLMClient:
        return get_client(self.settings)

    # -- availability ----------------------------------------------------------------------------
    def offline_reason(self, agent: str) -> str | None:
        if not self.breaker.available():
            return "circuit open"
        if "global" in self.exhausted or agent in self.exhausted:
            return "budget cap reached"
        return None

    async def refresh(self) -> None:
        """Re-read the budgets (another process may have spent, a new day may have begun)."""
        if not self.budget.hard_cap:
            self.exhausted = set()
            return
        lines = await budget_status(self.store, self.config, self.clock())
        self.exhausted = {
            "global" if line.scope == "global" else line.scope.removeprefix("agent:")
            for line in lines
            if line.exhausted
        }

    # -- a request -------------------------------------------------------------------------------
    async def run(self, request: Request) -> dict[str, Any] | None:
        prompt = load_prompt(request.prompt_name)
        system, user = prompt.render(request.variables)
        route = self.router.route(request.task, request.agent)
        attempt = await self._attempt(route, prompt, system, user, request)
        if attempt.status == "ok":
            return attempt.value
        # One retry a tier up when the answer failed validation (never for service failures).
        higher = self.router.escalate(route) if self.escalation else None
        if attempt.status != "invalid" or higher is None:
            return None
        attempt = await self._attempt(higher, prompt, system, user, request)
        return attempt.value if attempt.status == "ok" else None

    def estimate(
        self, model: str, system: str, user: str, schema: dict[str, Any], max_tokens: int
    ) -> float | None:
        """An upper bound of the call's cost: prompt by characters, output at ``max_tokens``."""
        chars = len(system) + len(user) + len(json.dumps(schema)) + TOOL_OVERHEAD_CHARS
        usage = Usage(math.ceil(chars / self.chars_per_token), max_tokens)
        return self.prices.cost(model, usage)

    async def _attempt(
        self, route: Route, prompt: Prompt, system: str, user: str, request: Request
    ) -> Attempt:
        max_tokens = request.max_tokens or self.max_tokens
        estimate = self.estimate(route.model, system, user, request.schema, max_tokens)
        reservation = await self.budget.reserve(request.agent, estimate)
        if isinstance(reservation, str):
            self.exhausted.add(request.agent)
            await self.store.record_event(
                "llm.refused", {"agent": request.agent, "model": route.model, "reason": reservation}
            )
            return Attempt("refused", detail=reservation)
        if not self.breaker.acquire():
            await self.budget.release(reservation)
            return Attempt("offline", detail="circuit open")
        try:
            return await self._send(route, prompt, system, user, request, reservation, max_tokens)
        except BaseException:
            await self.budget.release(reservation)
            raise

    async def _send(
        self,
        route: Route,
        prompt: Prompt,
        system: str,
        user: str,
        request: Request,
        reservation: Reservation,
        max_tokens: int,
    ) -> Attempt:
        at = self.clock()
        tool = {
            "name": prompt.tool_name,
            "description": prompt.tool_description,
            "input_schema": request.schema,
        }
        # No forced tool_choice: current models (Opus/Sonnet 5.5, Fable 5.1+) answer it with a 400.
        outcome: CallOutcome = await self.client.create(
            model=route.model,
            max_tokens=max_tokens,
            system=system,
            messages=[{"role": "user", "content": user}],
            tools=[tool],
        )
        value: dict[str, Any] | None = None
        opened = False
        if outcome.message is None:
            status, problem, usage = outcome.error_kind or "failed", outcome.error, Usage()
            opened = self.breaker.record_failure(problem or status)
        else:
            self.breaker.record_success()
            usage = usage_of(outcome.message)
            value, problem = extract_tool_input(outcome.message, prompt.tool_name, request.schema)
            if problem is None and request.validate is not None:
                problem = await self._validate(request.validate, value)
            status = "ok" if problem is None else "invalid"
        cost = self.prices.cost(route.model, usage)
        record = CallRecord(
            at=at, agent=request.agent, model=route.model, status=status, usage=usage,
            cost_usd=cost, tier=route.tier, rule=route.rule, purpose=request.purpose,
            commit_sha=request.commit, task=request.task, prompt=prompt.ref,
            latency_ms=outcome.latency_ms, retries=outcome.retries, error=problem,
        )  # fmt: skip
        crossed = await self.budget.settle(reservation, record)
        for line in crossed:
            log.warning("LLM budget %s %s at %d%%", line.scope, line.period, line.level)
        await self._save_circuit(opened, outcome.message is not None)
        return Attempt(status, value if status == "ok" else None, problem)

    async def _validate(self, validate: Validator, value: Any) -> str | None:
        try:
            result = validate(value)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            return f"validation raised {type(exc).__name__}: {exc}"[:300]
        return None if result else "validation failed"

    async def _save_circuit(self, opened: bool, succeeded: bool) -> None:
        """Keep the circuit's state in the store when it changes, for the pane and the report."""
        if not opened and not (succeeded and self._stored_open):
            return
        state = {
            "state": "open" if opened else "closed",
            "opened_at": self.breaker.opened_at,
            "reopens_at": self.breaker.reopens_at if opened else None,
            "last_error": self.breaker.last_error if opened else None,
            "failures": self.breaker.failures,
        }
        self._stored_open = opened
        await self.store.execute(
            "INSERT INTO llm_state (key, value_json, updated_at) VALUES ('circuit', ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value_json = excluded.value_json,"
            " updated_at = excluded.updated_at",
            (json.dumps(state), self.clock()),
        )
