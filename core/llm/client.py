"""One ``anthropic.AsyncAnthropic`` per process (per event loop), with a per-request timeout, the
SDK's own retries, a concurrency limit and an overall deadline per call.

Retry counts: the SDK's retries are kept (they honour ``retry-after``); every HTTP attempt passes an
httpx2 request hook that counts it in a context variable private to the call, so a call's
``retries`` is exactly ``attempts - 1``, whether it ends in success or in an error.

Calls are streamed (``messages.stream``) and the final message is read: ``llm.timeout`` bounds the
silence between two events, not the length of the answer.

Time: a call may be given a ``budget`` (the seconds its agent can still spare). The whole call (the
wait for a concurrency slot, every attempt and every retry pause) ends within
``min(llm.deadline, budget)``, each request within ``min(llm.timeout, what is left)``, and a
response hook gives up at once when the server's ``retry-after`` would outlive what is left
(the SDK honours any ``retry-after``, however long).
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2

RETRYABLE = frozenset({408, 409, 429})  # and every 5xx, as the SDK retries them
# Statuses that no retry can fix: the key, the account or the request itself is wrong.
CONFIGURATION = {
    400: "the API rejected the request",
    401: "the API key was rejected",
    402: "billing: the account cannot pay for this call",
    403: "the API key may not use this model or endpoint",
    404: "unknown model id or endpoint",
}


@dataclass(slots=True)
class _Call:
    """The running call's private state, seen by the HTTP hooks."""

    attempts: int = 0
    ends_at: float | None = None  # time.monotonic() by which the call must be over
    request_id: str | None = None  # of the last answer that started (for a stream that broke)
    max_retry_after: float | None = None  # the longest retry-after the call may wait
    answers: int = 0  # attempts whose answer started (response headers came back)
    unsent: int = 0  # attempts that never reached the server (no connection)
    last: str = ""  # the latest attempt: "sent", "answered" or "unsent"

    @property
    def unanswered(self) -> int:
        """Attempts that reached the server and got no answer: perhaps billed generations."""
        return self.attempts - self.answers - self.unsent


_call: contextvars.ContextVar[_Call | None] = contextvars.ContextVar(
    "controlroom_llm_call", default=None
)


class RetryBeyondBudget(anthropic.AnthropicError):
    """The server asked to retry later than the call's time allows: give up now.

    An ``AnthropicError`` that is neither a status nor a connection error, so the SDK raises it as
    it is and never retries it."""

    def __init__(
        self, status_code: int, retry_after: float, left: float, capped: bool = False
    ) -> None:
        where = (
            f"llm.max_retry_after ({left:g} s)"
            if capped
            else f"the {max(left, 0):.1f} s left for this call"
        )
        super().__init__(f"HTTP {status_code}: retry-after {retry_after:g} s is beyond {where}")
        self.status_code = status_code
        self.capped = capped  # the cap, not the call's time: a refusal to wait, not a timeout


def retry_after_seconds(headers: httpx2.Headers) -> float | None:
    """``retry-after-ms``, else ``retry-after`` (seconds or an HTTP date), as the SDK reads them."""
    try:
        return float(headers.get("retry-after-ms", "")) / 1000
    except ValueError:
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        return None if parsed is None else float(email.utils.mktime_tz(parsed) - time.time())


class _CountingTransport(httpx2.AsyncBaseTransport):
    """The SDK's transport, counting the attempts that never reached the server: those cannot
    have started a generation (unlike one that was sent and got no answer)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return await self.inner.handle_async_request(request)
        except (httpx2.ConnectError, httpx2.ConnectTimeout):
            call = _call.get()
            if call is not None:
                call.unsent += 1
                call.last = "unsent"
            raise

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _count_attempt(request: httpx2.Request) -> None:
    call = _call.get()
    if call is not None:
        call.attempts += 1
        call.last = "sent"


async def _check_retry_after(response: httpx2.Response) -> None:
    call = _call.get()
    status = response.status_code
    if call is not None:
        call.answers += 1
        call.last = "answered"
        call.request_id = response.headers.get("request-id") or call.request_id
    if call is None or call.ends_at is None or (status not in RETRYABLE and status < 500):
        return
    if response.headers.get("x-should-retry") == "false":
        return  # the SDK will not retry: its status error says what happened
    wait = retry_after_seconds(response.headers)
    if wait is None:
        return
    left = call.ends_at - time.monotonic()
    cap = call.max_retry_after
    if cap is not None and wait > cap and cap < left:  # it would hold a slot that long
        await response.aclose()
        raise RetryBeyondBudget(status, wait, cap, capped=True)
    if wait >= left:
        await response.aclose()
        raise RetryBeyondBudget(status, wait, left)


@dataclass(frozen=True, slots=True)
class ClientSettings:
    api_key: str
    base_url: str | None = None
    timeout: float = 60.0
    deadline: float = 180.0
    max_retries: int = 2
    max_concurrency: int = 4
    max_retry_after: float | None = None  # None: only the call's time bounds a retry-after

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
            self.max_retry_after,
        )


@dataclass(slots=True)
class CallOutcome:
    """A finished request: the message, or the kind of error and its text. Kinds: "timeout" (no
    answer in time: the cost is unknown), "config" (400/401/402/403/404: the key, the account or
    the request is wrong; retrying cannot help), "failed" (anything else)."""

    message: Any | None
    attempts: int
    latency_ms: float
    error_kind: str | None = None
    error: str | None = None
    status_code: int | None = None
    request_id: str | None = None
    abandoned: bool = False  # sent, and given up without a whole answer: it may be billed
    # Earlier attempts the SDK gave up on without an answer (a timeout before the answer started)
    # and sent again: each may have started a generation that is billed.
    unanswered: int = 0

    @property
    def retries(self) -> int:
        return max(self.attempts - 1, 0)


class LLMClient:
    """Sends Messages API requests; never raises for an API or network failure."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self._semaphore = asyncio.Semaphore(settings.max_concurrency)
        http = anthropic.DefaultAsyncHttpxClient(
            event_hooks={"request": [_count_attempt], "response": [_check_retry_after]}
        )
        # Wrapped after the SDK built it (its socket options and proxies stay as they are).
        if isinstance(getattr(http, "_transport", None), httpx2.AsyncBaseTransport):
            http._transport = _CountingTransport(http._transport)
        self.sdk = anthropic.AsyncAnthropic(
            api_key=settings.api_key,
            base_url=settings.base_url or None,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            http_client=http,
        )

    def _scrub(self, text: str) -> str:
        return text.replace(self.settings.api_key, "***") if self.settings.api_key else text

    async def create(self, *, budget: float | None = None, **request: Any) -> CallOutcome:
        """``messages.create(**request)`` within the concurrency limit and the deadline, the
        whole of it within ``budget`` seconds when one is given (see the module's docstring)."""
        started = time.perf_counter()
        request_id: str | None = None
        abandoned = False  # the request went out and no whole answer came back: cost unknown
        nothing_generated = False  # an error answer ended the call: nothing was generated
        call = _Call(max_retry_after=self.settings.max_retry_after)
        token = _call.set(call)
        limit = self.settings.deadline if budget is None else min(self.settings.deadline, budget)
        try:
            async with asyncio.timeout(budget):  # None: no bound on the wait for a slot
                async with self._semaphore:
                    left = limit if budget is None else min(limit, budget - _since(started))
                    call.ends_at = time.monotonic() + left
                    async with asyncio.timeout(left):
                        message, request_id = await self._stream(
                            request, max(min(self.settings.timeout, left), 0.001)
                        )
            return CallOutcome(
                message, call.attempts, _since(started) * 1000, request_id=request_id,
                unanswered=call.unanswered,
            )  # fmt: skip
        except (TimeoutError, anthropic.APITimeoutError, httpx2.TimeoutException):
            # httpx2's own: a stream that went silent half-way (the SDK retries only before the
            # answer starts). Either way the generation is abandoned.
            kind, text, code = "timeout", f"no answer within {_since(started):.1f} s", None
        except RetryBeyondBudget as exc:  # past the call's time (a timeout) or past the cap
            kind, text, code = ("failed" if exc.capped else "timeout"), str(exc), exc.status_code
            nothing_generated = True
        except anthropic.APIStatusError as exc:
            code, request_id = exc.status_code, exc.request_id
            if code in CONFIGURATION:
                kind, text = "config", configuration_error(exc, request.get("model"))
            else:
                kind, text = "failed", f"HTTP {code}: {exc.message}"
                abandoned = code < 400  # an error event in the middle of a streamed answer
        except anthropic.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            kind, text, code = "failed", f"no connection to the API: {cause}", None
            abandoned = not isinstance(cause, httpx2.ConnectError)  # sent, then the line broke
        except httpx2.TransportError as exc:  # the stream broke half-way: the SDK does not wrap it
            kind, text, code = "failed", f"the answer broke off: {type(exc).__name__}: {exc}", None
            abandoned = True
        except anthropic.APIError as exc:
            kind, text, code = "failed", f"{type(exc).__name__}: {exc}", None
        except Exception as exc:  # a malformed body and anything else the SDK may raise
            kind, text, code = "failed", f"{type(exc).__name__}: {exc}", None
        finally:
            _call.reset(token)
        elapsed = _since(started) * 1000
        text = self._scrub(text)[:500]
        abandoned = abandoned or (kind == "timeout" and not nothing_generated)
        abandoned = abandoned and call.last != "unsent"  # never reached the server: $0
        request_id = request_id or call.request_id
        # the last attempt is this row's own; only earlier ones sent without an answer are extra
        unanswered = call.unanswered - (1 if call.last == "sent" else 0)
        return CallOutcome(
            None, call.attempts, elapsed, kind, text, code, request_id, abandoned,
            max(unanswered, 0),
        )  # fmt: skip

    async def _stream(self, request: dict[str, Any], timeout: float) -> tuple[Any, str | None]:
        """The final message of a streamed call and its request id. Streamed, so that
        ``llm.timeout`` bounds the silence between events, not the whole generation (a long
        answer never times out half-way to be generated again from the start)."""
        async with self.sdk.messages.stream(**request, timeout=timeout) as stream:
            message = await stream.get_final_message()
            return message, stream.request_id

    async def close(self) -> None:
        await self.sdk.close()


def configuration_error(exc: anthropic.APIStatusError, model: Any) -> str:
    """One line naming the cause of a 400/401/402/403/404: the API's own error type and message,
    and the model id when the model is what was not found."""
    cause = CONFIGURATION[exc.status_code]
    error = exc.body.get("error") if isinstance(exc.body, dict) else None
    detail = error.get("message") if isinstance(error, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    if exc.status_code == 404 and model:
        cause = f"unknown model id {model!r} (or endpoint)"
    text = f"HTTP {exc.status_code} {kind or 'error'}: {cause}"
    return f"{text}: {detail}" if detail else text


def _since(started: float) -> float:
    return time.perf_counter() - started


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
