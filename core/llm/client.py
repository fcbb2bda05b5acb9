"""One ``anthropic.AsyncAnthropic`` per process (per event loop), with a per-request timeout, the
SDK's own retries, a concurrency limit and an overall deadline per call.

Retry counts: the SDK's retries are kept (they honour ``retry-after``); every HTTP attempt passes an
httpx2 request hook that counts it in a context variable private to the call, so a call's
``retries`` is exactly ``attempts - 1``, whether it ends in success or in an error.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2

_attempts: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "controlroom_llm_attempts", default=None
)


async def _count_attempt(request: httpx2.Request) -> None:
    box = _attempts.get()
    if box is not None:
        box[0] += 1


@dataclass(frozen=True, slots=True)
class ClientSettings:
    api_key: str
    base_url: str | None = None
    timeout: float = 60.0
    deadline: float = 180.0
    max_retries: int = 2
    max_concurrency: int = 4

    def cache_key(self, loop: asyncio.AbstractEventLoop) -> tuple[Any, ...]:
        digest = hashlib.sha256(self.api_key.encode()).hexdigest()  # never the key itself
        return (
            id(loop),
            self.base_url,
            digest,
            self.timeout,
            self.deadline,
            self.max_retries,
            self.max_concurrency,
        )


@dataclass(slots=True)
class CallOutcome:
    """A finished request: the message, or the kind of error ("timeout", "failed") and its text."""

    message: Any | None
    attempts: int
    latency_ms: float
    error_kind: str | None = None
    error: str | None = None
    status_code: int | None = None

    @property
    def retries(self) -> int:
        return max(self.attempts - 1, 0)


class LLMClient:
    """Sends Messages API requests; never raises for an API or network failure."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self._semaphore = asyncio.Semaphore(settings.max_concurrency)
        self.sdk = anthropic.AsyncAnthropic(
            api_key=settings.api_key,
            base_url=settings.base_url or None,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            http_client=anthropic.DefaultAsyncHttpxClient(
                event_hooks={"request": [_count_attempt]}
            ),
        )

    def _scrub(self, text: str) -> str:
        return text.replace(self.settings.api_key, "***") if self.settings.api_key else text

    async def create(self, **request: Any) -> CallOutcome:
        """``messages.create(**request)`` within the concurrency limit and the deadline."""
        box = [0]
        token = _attempts.set(box)
        started = time.perf_counter()
        try:
            async with self._semaphore:
                async with asyncio.timeout(self.settings.deadline):
                    message = await self.sdk.messages.create(**request)
            return CallOutcome(message, box[0], (time.perf_counter() - started) * 1000)
        except (TimeoutError, anthropic.APITimeoutError) as exc:
            kind, text, code = "timeout", f"timed out: {type(exc).__name__}", None
        except anthropic.APIStatusError as exc:
            kind, text, code = "failed", f"HTTP {exc.status_code}: {exc.message}", exc.status_code
        except anthropic.APIError as exc:
            kind, text, code = "failed", f"{type(exc).__name__}: {exc}", None
        except Exception as exc:  # a malformed body and anything else the SDK may raise
            kind, text, code = "failed", f"{type(exc).__name__}: {exc}", None
        finally:
            _attempts.reset(token)
        elapsed = (time.perf_counter() - started) * 1000
        return CallOutcome(None, box[0], elapsed, kind, self._scrub(text)[:500], code)

    async def close(self) -> None:
        await self.sdk.close()


_clients: dict[tuple[Any, ...], LLMClient] = {}


def get_client(settings: ClientSettings) -> LLMClient:
    """The process's client for these settings on the running event loop."""
    loop = asyncio.get_running_loop()
    key = settings.cache_key(loop)
    client = _clients.get(key)
    if client is None:
        for stale in [k for k in _clients if k[0] != id(loop)]:
            _clients.pop(stale, None)  # clients of finished loops (tests, repeated asyncio.run)
        client = _clients[key] = LLMClient(settings)
    return client
