"""The per-process LLM service behind every assistant: route, reserve, call, validate, record."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from controlroom.core.config import Config
from controlroom.core.llm.budget import Budget, Reservation, budget_status
from controlroom.core.llm.client import CallOutcome, ClientSettings, LLMClient, get_client
from controlroom.core.llm.ledger import CallRecord, record_call
from controlroom.core.llm.pricing import PriceTable, Usage, load_prices
from controlroom.core.llm.prompts import Prompt, load_prompt
from controlroom.core.llm.router import Route, Router
from controlroom.core.llm.shaping import Shaper
from controlroom.core.llm.shared_breaker import SharedBreaker, endpoint_key
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
    max_tokens: int | None = None  # None: the purpose's cap ([llm.purposes.<purpose>])
    deadline: float | None = None  # time.monotonic() by which the agent must be done
    attempts: list[Attempt] = field(default_factory=list)  # what happened, for the agent's notes


@dataclass(slots=True)
class Attempt:
    """One call's result. status: ok / invalid / failed / timeout / config / truncated / refusal /
    no_tool / too_long / paused, or (nothing sent) refused (budget) / offline / skipped."""

    status: str
    value: dict[str, Any] | None = None
    detail: str | None = None
    message: Any = None  # the API's message, when one came back


REASK = "\n\nAnswer only by calling the tool {tool} once, with the whole result."


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
        cache_write_1h_tokens=int(
            getattr(getattr(usage, "cache_creation", None), "ephemeral_1h_input_tokens", 0) or 0
        ),
    )


def extract_tool_input(
    message: Any, tool_name: str, schema: dict[str, Any]
) -> tuple[Any, str | None]:
    """The one completed tool call's input when it matches ``schema``; else (None, what is wrong)."""
    calls = [
        block
        for block in getattr(message, "content", None) or []
        if getattr(block, "type", None) == "tool_use"
    ]
    if not calls or all(getattr(b, "name", None) != tool_name for b in calls):
        return None, f"the model did not call {tool_name}"
    if len(calls) > 1:
        return None, f"the model made {len(calls)} tool calls where one was asked for"
    value = getattr(calls[0], "input", None)
    if not isinstance(value, dict):
        return None, "tool input is not an object"
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(value)
    )
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return None, f"output does not match the schema at {where}: {error.message}"[:300]
    return value, None


def refusal_detail(message: Any) -> str:
    """``refusal (category cyber): explanation`` from the message's ``stop_details``."""
    details = getattr(message, "stop_details", None)
    category = getattr(details, "category", None) or "none"
    explanation = getattr(details, "explanation", None)
    text = f"refusal (category {category})"
    return f"{text}: {' '.join(str(explanation).split())}"[:300] if explanation else text


def read_answer(
    message: Any, tool_name: str, schema: dict[str, Any], max_tokens: int
) -> tuple[str, Any, str | None]:
    """(status, value, problem) of a message by its ``stop_reason``. Only a completed tool call
    (``tool_use``) is ever validated: a ``max_tokens`` stop may hold a cut-off one."""
    stop = getattr(message, "stop_reason", None)
    if stop == "refusal":
        return "refusal", None, refusal_detail(message)
    if stop == "max_tokens":
        return "truncated", None, f"the answer was cut off at max_tokens={max_tokens}"
    if stop == "model_context_window_exceeded":
        return "too_long", None, "the prompt and the answer exceed the model's context window"
    if stop == "pause_turn":
        return "paused", None, "the model paused its turn"
    if stop != "tool_use":  # end_turn, stop_sequence: it answered without the tool
        return "no_tool", None, f"the model ended its turn ({stop}) without calling {tool_name}"
    value, problem = extract_tool_input(message, tool_name, schema)
    return ("ok" if problem is None else "invalid"), value, problem


def unanswered_record(call: CallRecord, count: int) -> CallRecord:
    """The ledger row of a call's attempts that got no answer and were sent again by the SDK:
    each may have started a billed generation, so their cost is unknown (NULL), never $0."""
    plural = "s" if count > 1 else ""
    return CallRecord(
        at=call.at, agent=call.agent, model=call.model, status="timeout", tier=call.tier,
        rule=call.rule, purpose=call.purpose, commit_sha=call.commit_sha, task=call.task,
        prompt=call.prompt, retries=count - 1, request_id=None, cost_usd=None,
        error=f"{count} attempt{plural} got no answer and {'were' if count > 1 else 'was'} sent"
        " again (abandoned: cost unknown)",
    )  # fmt: skip


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
            max_retry_after=float(llm.get("max_retry_after", 30.0)),
        )
        self.max_tokens = int(llm.get("max_tokens", 2048))
        self.escalation = bool(llm.get("escalate", True))
        self.router = Router(config)
        self.shaper = Shaper(config)
        self.disabled: str | None = None  # a configuration error turned the LLM path off
        self.prices: PriceTable = load_prices(config)
        self.budget = Budget(store, config, clock)
        self.breaker = SharedBreaker(
            store,
            endpoint_key(base_url),
            threshold=int(llm["breaker_threshold"]),
            cooldown=float(llm["breaker_cooldown"]),
            lease=self.settings.deadline,
            clock=clock,
        )
        self.margin = float(llm["deadline_margin"])
        self.chars_per_token = float(config.get("budgets.chars_per_token"))
        self.exhausted: set[str] = set()  # "global" or agent names refused by a hard cap

    @property
    def client(self) -> LLMClient:
        return get_client(self.settings)

    # -- availability ----------------------------------------------------------------------------
    def offline_reason(self, agent: str) -> str | None:
        if self.disabled:
            return self.disabled
        if not self.breaker.available():
            return self.breaker.offline_message()
        if "global" in self.exhausted or agent in self.exhausted:
            return "budget cap reached"
        return None

    async def refresh(self) -> None:
        """Re-read the shared circuit and the budgets (another process may have failed or spent,
        a new day may have begun)."""
        await self.breaker.load()
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
        route = self.router.route(request.agent, request.purpose)
        settings = self.shaper.purpose(request.purpose)
        cap = request.max_tokens or settings.max_tokens
        messages: list[dict[str, Any]] = [{"role": "user", "content": user}]
        attempt = await self._attempt(route, prompt, system, messages, request, cap)
        request.attempts.append(attempt)
        again: list[dict[str, Any]] | None = None
        if attempt.status == "truncated":  # once more on the same model with a larger cap
            cap = max(settings.retry_max_tokens, cap * 2)
            again = messages
        elif attempt.status == "no_tool":  # one re-ask, same model
            again = [{"role": "user", "content": user + REASK.format(tool=prompt.tool_name)}]
        elif attempt.status == "paused":  # the SDK's way: send the paused turn back as it is
            again = [*messages, attempt.message.to_param()]
        if again is not None:
            attempt = await self._attempt(route, prompt, system, again, request, cap)
            request.attempts.append(attempt)
        if attempt.status == "ok":
            return attempt.value
        # One retry a tier up when the answer failed validation (never for service failures,
        # refusals or cut-off answers).
        higher = self.router.escalate(route) if self.escalation else None
        if attempt.status != "invalid" or higher is None:
            return None
        attempt = await self._attempt(higher, prompt, system, messages, request, cap)
        request.attempts.append(attempt)
        return attempt.value if attempt.status == "ok" else None

    def time_left(self, request: Request) -> float | None:
        """Seconds this request may still take: until its agent's deadline less the margin."""
        if request.deadline is None:
            return None
        return request.deadline - self.margin - time.monotonic()

    def estimate(
        self, model: str, system: str, user: str, schema: dict[str, Any], max_tokens: int
    ) -> float | None:
        """An upper bound of the call's cost: prompt by characters, output at ``max_tokens``."""
        chars = len(system) + len(user) + len(json.dumps(schema)) + TOOL_OVERHEAD_CHARS
        usage = Usage(math.ceil(chars / self.chars_per_token), max_tokens)
        return self.prices.cost(model, usage)

    async def _attempt(
        self,
        route: Route,
        prompt: Prompt,
        system: str,
        messages: list[dict[str, Any]],
        request: Request,
        max_tokens: int,
    ) -> Attempt:
        if self.disabled:
            return Attempt("offline", detail=self.disabled)
        left = self.time_left(request)
        if left is not None and left <= 0:
            return Attempt("skipped", detail="no time left in the agent's budget")
        user = json.dumps(messages, default=str)
        estimate = self.estimate(route.model, system, user, request.schema, max_tokens)
        reservation = await self.budget.reserve(request.agent, estimate)
        if isinstance(reservation, str):
            self.exhausted.add(request.agent)
            await self.store.record_event(
                "llm.refused", {"agent": request.agent, "model": route.model, "reason": reservation}
            )
            return Attempt("refused", detail=reservation)
        if not await self.breaker.acquire():
            await self.budget.release(reservation)
            return Attempt("offline", detail=self.breaker.offline_message())
        try:
            return await self._send(
                route, prompt, system, messages, request, reservation, max_tokens
            )
        except BaseException:
            await self.budget.release(reservation)
            raise

    async def _send(
        self,
        route: Route,
        prompt: Prompt,
        system: str,
        messages: list[dict[str, Any]],
        request: Request,
        reservation: Reservation,
        max_tokens: int,
    ) -> Attempt:
        at = self.clock()
        params = self.shaper.params(
            model=route.model,
            purpose=request.purpose,
            max_tokens=max_tokens,
            system=system,
            user="",
            tool_name=prompt.tool_name,
            tool_description=prompt.tool_description,
            schema=request.schema,
        )
        params["messages"] = messages
        outcome: CallOutcome = await self.client.create(budget=self.time_left(request), **params)
        value: dict[str, Any] | None = None
        opened = False
        usage = Usage()
        cost: float | None
        if outcome.message is None:
            status, problem = outcome.error_kind or "failed", outcome.error
            if status == "config":  # the service answered: not an outage, but no call can work
                await self.breaker.record_success()
                await self._disable(problem or status, outcome.request_id)
            else:
                opened = await self.breaker.record_failure(problem or status)
            if outcome.abandoned:  # it may have been billed, by how much is unknown: never $0
                problem = f"{problem} (abandoned: cost unknown)"
                cost = None
            else:  # an error answer or no connection: nothing was generated
                cost = 0.0 if self.prices.is_priced(route.model) else None
        else:
            await self.breaker.record_success()
            usage = usage_of(outcome.message)
            status, value, problem = read_answer(
                outcome.message, prompt.tool_name, request.schema, max_tokens
            )
            if status == "ok" and request.validate is not None:
                problem = await self._validate(request.validate, value, self.time_left(request))
                status = "ok" if problem is None else "invalid"
            cost = self.prices.cost(route.model, usage)
        if problem and outcome.request_id and status != "invalid":
            problem = f"{problem} [request {outcome.request_id}]"
        record = CallRecord(
            at=at, agent=request.agent, model=route.model, status=status, usage=usage,
            cost_usd=cost, tier=route.tier, rule=route.rule, purpose=request.purpose,
            commit_sha=request.commit, task=request.task, prompt=prompt.ref,
            latency_ms=outcome.latency_ms, retries=outcome.retries, error=problem,
            request_id=outcome.request_id,
        )  # fmt: skip
        crossed = await self.budget.settle(reservation, record)
        if outcome.unanswered:  # retried after no answer: those attempts' cost is unknown
            await record_call(self.store, unanswered_record(record, outcome.unanswered))
        for line in crossed:
            log.warning("LLM budget %s %s at %d%%", line.scope, line.period, line.level)
        if opened:
            log.warning("LLM %s: %s", self.breaker.offline_message(), problem)
            await self.store.record_event(
                "llm.circuit_open", {"failures": self.breaker.row.failures, "error": problem}
            )
        if status == "refusal":
            await self.store.record_event(
                "llm.refusal",
                {"agent": request.agent, "model": route.model, "detail": problem},
            )
        return Attempt(status, value if status == "ok" else None, problem, outcome.message)

    async def _disable(self, problem: str, request_id: str | None) -> None:
        """Turn the LLM path off for this run after a configuration error, with one line."""
        if self.disabled:
            return
        where = f" [request {request_id}]" if request_id else ""
        self.disabled = f"LLM off for this run: {problem}{where}"
        log.error("%s", self.disabled)
        await self.store.record_event("llm.config_error", {"error": problem, "request": request_id})

    async def _validate(self, validate: Validator, value: Any, left: float | None) -> str | None:
        """The agent's check of an answer, within the time the agent has left."""
        try:
            async with asyncio.timeout(None if left is None else max(left, 0.0)):
                result = validate(value)
                if inspect.isawaitable(result):
                    result = await result
        except TimeoutError:
            return "validation ran out of the agent's time"
        except Exception as exc:
            return f"validation raised {type(exc).__name__}: {exc}"[:300]
        return None if result else "validation failed"
