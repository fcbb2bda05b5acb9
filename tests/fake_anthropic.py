"""A local fake of the Anthropic Messages API for tests: 127.0.0.1, a random port, scripted answers.

    with FakeAnthropic() as fake:
        fake.script(fake.rate_limited(), fake.ok({"summary": "x"}, usage={"input_tokens": 7}))
        ...  # point the SDK at fake.url (ANTHROPIC_BASE_URL or base_url=)
        assert fake.count == 2

Each request takes the next scripted response; when the script is empty, ``default`` answers.
Every request is recorded (path, headers, JSON body), so tests count them and read the
``x-stainless-retry-count`` and ``authorization`` headers the real SDK sent.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_USAGE = {
    "input_tokens": 100,
    "output_tokens": 20,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
}


@dataclass
class Response:
    """One scripted answer. ``kind``: ok, text, status, malformed, hang."""

    kind: str
    status: int = 200
    delay: float = 0.0  # seconds to wait before answering (requests stay "in flight")
    tool_input: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]] | None = None
    usage: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_USAGE))
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None

    @property
    def retry_count(self) -> int:
        return int(self.headers.get("x-stainless-retry-count", "0"))


class FakeAnthropic:
    """The server. Use as a context manager; ``url`` is the base URL for the SDK."""

    def __init__(self, default: Response | None = None) -> None:
        self.default = default or self.ok({})
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._script: deque[Response] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    # -- script ----------------------------------------------------------------------------------
    def script(self, *responses: Response) -> None:
        with self._lock:
            self._script.extend(responses)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    @staticmethod
    def ok(tool_input: Any, usage: dict[str, int] | None = None) -> Response:
        """200 with a tool_use block (named after the request's first tool) and a usage block."""
        full = {**DEFAULT_USAGE, **(usage or {})}
        return Response("ok", tool_input=tool_input, usage=full)

    @staticmethod
    def slow(tool_input: Any, delay: float) -> Response:
        """Like ``ok`` but answered after ``delay`` seconds (to observe concurrency)."""
        return Response("ok", tool_input=tool_input, delay=delay)

    @staticmethod
    def text(usage: dict[str, int] | None = None) -> Response:
        """200 with only a text block: the model did not call the tool."""
        return Response("text", usage={**DEFAULT_USAGE, **(usage or {})})

    @staticmethod
    def rate_limited(retry_after_ms: int = 1) -> Response:
        return Response(
            "status",
            429,
            headers={"retry-after-ms": str(retry_after_ms), "retry-after": "0"},
            body=_error("rate_limit_error", "rate limited"),
        )

    @staticmethod
    def retry_later(seconds: int, status: int = 429) -> Response:
        """429 (or another retryable status) asking, with ``retry-after`` only, to come back in
        ``seconds``: the SDK honours any such wait, however long."""
        kind = "rate_limit_error" if status == 429 else "overloaded_error"
        return Response(
            "status", status, headers={"retry-after": str(seconds)}, body=_error(kind, "later")
        )

    @staticmethod
    def overloaded(retry_after_ms: int = 1) -> Response:
        return Response(
            "status",
            529,
            headers={"retry-after-ms": str(retry_after_ms)},
            body=_error("overloaded_error", "Overloaded"),
        )

    @staticmethod
    def server_error(retry_after_ms: int = 1) -> Response:
        return Response(
            "status",
            500,
            headers={"retry-after-ms": str(retry_after_ms)},
            body=_error("api_error", "Internal server error"),
        )

    @staticmethod
    def malformed() -> Response:
        return Response("malformed", body=b'{"id": "msg_1", "type": "message", "content": [')

    @staticmethod
    def hang() -> Response:
        """Accept the request and never answer (until the server stops)."""
        return Response("hang")

    # -- serving ---------------------------------------------------------------------------------
    def _next(self, recorded: Recorded) -> Response:
        with self._lock:
            self.requests.append(recorded)
            return self._script.popleft() if self._script else self.default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                headers = {k.lower(): v for k, v in self.headers.items()}
                response = fake._next(Recorded(self.path, headers, body))
                with fake._lock:  # in flight until just before the answer is written
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    if response.delay:
                        fake._release.wait(response.delay)
                finally:
                    with fake._lock:
                        fake.in_flight -= 1
                self._answer(response, body)

            def _answer(self, response: Response, body: dict[str, Any] | None) -> None:
                if response.kind == "hang":
                    fake._release.wait(60)
                    self.close_connection = True
                    return
                payload, status = fake._payload(response, body or {}), response.status
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def _payload(self, response: Response, request: dict[str, Any]) -> bytes:
        if response.body is not None:
            return response.body
        tools = request.get("tools") or [{"name": "tool"}]
        if response.kind == "text":
            content: list[dict[str, Any]] = [{"type": "text", "text": "Here is my answer."}]
        else:
            value = response.tool_input
            tool_input = value(request) if callable(value) else value
            content = [
                {
                    "type": "tool_use",
                    "id": "toolu_01",
                    "name": tools[0]["name"],
                    "input": tool_input,
                }
            ]
        message = {
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": request.get("model", "unknown"),
            "content": content,
            "stop_reason": "tool_use" if response.kind == "ok" else "end_turn",
            "stop_sequence": None,
            "usage": response.usage,
        }
        return json.dumps(message).encode()


def _error(kind: str, message: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


def llm_env(fake: FakeAnthropic, key: str = "sk-ant-test-0123456789") -> dict[str, str]:
    """The environment an assistant factory needs to talk to ``fake``."""
    return {"ANTHROPIC_API_KEY": key, "ANTHROPIC_BASE_URL": fake.url}


# Settings that keep tests fast: no SDK retries unless a test asks, short timeouts.
FAST_LLM = {
    "llm.timeout": 5.0,
    "llm.deadline": 10.0,
    "llm.max_retries": 0,
    "llm.breaker_threshold": 3,
    "llm.breaker_cooldown": 60.0,
}
