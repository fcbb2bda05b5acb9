"""One HTTP request with a total deadline and a capped body, for http checks and webhooks.

Everything runs on the event loop (an async client, no thread), so the deadline covers the whole
exchange: connecting, sending, the headers and every byte of the body. A body dripped one byte a
second ends at the deadline with :class:`TimeoutError`, like any other slow answer.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

USER_AGENT = "controlroom-sla"


class FetchFailed(Exception):
    """No HTTP answer: refused, reset, a bad URL. The message says why."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes  # at most ``max_body`` bytes; the rest was not read
    latency: float  # seconds until the (capped) body was read


async def request(
    method: str,
    url: str,
    *,
    deadline: float,
    max_body: int,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    follow_redirects: bool = False,
) -> Response:
    """``method url`` within ``deadline`` seconds (TimeoutError after it), body capped."""
    import httpx2  # imported when used: building the CLI parser must stay light

    started = time.perf_counter()
    async with asyncio.timeout(deadline):
        try:
            async with (
                httpx2.AsyncClient(timeout=deadline, follow_redirects=follow_redirects) as client,
                client.stream(
                    method,
                    url,
                    content=content,
                    headers={
                        "User-Agent": USER_AGENT,
                        "Accept-Encoding": "identity",  # no decompression bombs
                        **(headers or {}),
                    },
                ) as response,
            ):
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk[: max_body - len(body)]
                    if len(body) >= max_body:
                        break
                return Response(response.status_code, bytes(body), time.perf_counter() - started)
        except httpx2.TimeoutException as exc:
            raise TimeoutError(f"no answer within {deadline:g}s") from exc
        except (httpx2.HTTPError, httpx2.InvalidURL, ValueError, OSError) as exc:
            raise FetchFailed(str(exc) or type(exc).__name__) from exc
