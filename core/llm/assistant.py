"""What agents get from ``AgentContext.assistant(purpose)``: an :class:`Assistant`, or None offline.

The key comes from the environment only (``ANTHROPIC_API_KEY``) and is never stored, logged or
shown; ``ANTHROPIC_BASE_URL`` (or ``llm.base_url``) points the SDK elsewhere (tests: a local fake).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from controlroom.core.config import Config
from controlroom.core.store import Store

if TYPE_CHECKING:  # the anthropic SDK takes seconds to import: only when there is a key
    from controlroom.core.llm.service import LLMService, Validator

log = logging.getLogger("controlroom.llm")

_services: weakref.WeakKeyDictionary[Store, dict[tuple[str, str | None, str], LLMService]] = (
    weakref.WeakKeyDictionary()
)


def credentials(config: Config, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(API key, base URL) from the environment (and ``llm.base_url``); the key is never kept."""
    key = (env.get("ANTHROPIC_API_KEY") or "").strip() or None
    base_url = str(config.get("llm.base_url") or "") or env.get("ANTHROPIC_BASE_URL") or None
    return key, base_url


def get_service(
    config: Config, store: Store, env: Mapping[str, str] = os.environ
) -> LLMService | None:
    """The process's service for ``store`` and these ``[llm]``/``[budgets]`` settings (one breaker
    shared by every agent), or None when there is no key or ``llm.enabled`` is false."""
    key, base_url = credentials(config, env)
    if key is None or not config.get("llm.enabled"):
        return None
    per_store = _services.setdefault(store, {})
    settings = json.dumps(
        {"llm": config.section("llm"), "budgets": config.section("budgets")},
        sort_keys=True,
        default=str,
    )
    service_key = (_fingerprint(key), base_url, _fingerprint(settings))
    service = per_store.get(service_key)
    if service is None:
        from controlroom.core.llm.service import LLMService

        service = per_store[service_key] = LLMService(config, store, api_key=key, base_url=base_url)
    return service


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class Assistant:
    """Structured answers from Claude for one agent and purpose. Never raises into the agent.

    ``deadline`` (``time.monotonic()``, set from ``AgentContext.deadline``) bounds every call: each
    ends ``llm.deadline_margin`` seconds before it, or is not sent. ``asked``, ``answered`` and
    ``problems`` say what happened, for the agent's metrics and notes (see :meth:`summary`).
    """

    def __init__(
        self,
        service: LLMService,
        agent: str,
        purpose: str,
        commit: str | None,
        deadline: float | None = None,
    ) -> None:
        self._service = service
        self.agent = agent
        self.purpose = purpose
        self.commit = commit
        self.deadline = deadline
        self.asked = 0
        self.answered = 0
        self.problems: list[str] = []

    def __repr__(self) -> str:  # never shows the key
        return f"Assistant(agent={self.agent!r}, purpose={self.purpose!r})"

    async def ask(
        self,
        task: str,
        prompt_name: str,
        variables: dict[str, Any],
        schema: dict[str, Any],
        *,
        validate: Validator | None = None,
        max_tokens: int | None = None,
    ) -> dict[str, Any] | None:
        """The tool input matching ``schema`` (after ``validate``, if given), or None.

        ``task`` is a short description of the job; the router reads it. A cheaper tier's answer
        that fails the schema or ``validate`` is retried once a tier up. Every attempt is in the
        ledger; a refusal (budget, open circuit) sends nothing.
        """
        from controlroom.core.llm.service import Request

        request = Request(
            self.agent, self.purpose, self.commit, task, prompt_name, variables, schema,
            validate, max_tokens, self.deadline,
        )  # fmt: skip
        self.asked += 1
        try:
            answer = await self._service.run(request)
        except Exception as exc:  # an agent must never crash because of the LLM path
            log.warning("LLM request of %s failed: %s", self.agent, type(exc).__name__)
            answer = None
            self.problems.append(f"failed: {type(exc).__name__}")
        if answer is not None:
            self.answered += 1
        elif request.attempts and request.attempts[-1].status not in ("ok", "invalid"):
            last = request.attempts[-1]  # a service problem (an unusable answer is not one)
            self.problems.append(f"{last.status}: {last.detail}" if last.detail else last.status)
        return answer

    def summary(self) -> dict[str, Any]:
        """{"asked", "answered", "problems", "last_problem"} for the agent's metrics."""
        return {
            "asked": self.asked,
            "answered": self.answered,
            "problems": len(self.problems),
            "last_problem": self.problems[-1] if self.problems else None,
        }


class AssistantFactory:
    """``factory(purpose)`` -> an Assistant or None. Set as ``AgentContext.assistant_factory``."""

    def __init__(self, service: LLMService | None, agent_name: str, commit: str | None) -> None:
        self.service = service
        self.agent_name = agent_name
        self.commit = commit

    def __call__(self, purpose: str) -> Assistant | None:
        if self.service is None or self.service.offline_reason(self.agent_name):
            return None
        return Assistant(self.service, self.agent_name, purpose, self.commit)

    async def refresh(self) -> None:
        """Re-read budgets from the store, so a cap reached elsewhere turns this agent offline."""
        if self.service is not None:
            await self.service.refresh()


def make_assistant_factory(
    config: Config,
    store: Store,
    *,
    agent_name: str,
    commit: str | None = None,
    env: Mapping[str, str] = os.environ,
) -> AssistantFactory:
    """The factory for ``AgentContext.assistant_factory``. It returns None (offline) when there is
    no ``ANTHROPIC_API_KEY``, ``llm.enabled`` is false, the circuit is open or a hard budget cap
    of the agent (or the global one) has been reached."""
    return AssistantFactory(get_service(config, store, env), agent_name, commit)
