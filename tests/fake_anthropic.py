"""A local fake of the Anthropic Messages API for tests: 127.0.0.1, a random port, scripted answers.

    with FakeAnthropic() as fake:
        fake.script(fake.rate_limited(), fake.ok({"summary": "x"}, usage={"input_tokens": 7}))
        ...  # point the SDK at fake.url (ANTHROPIC_BASE_URL or base_url=)
        assert fake.count == 2

Each valid request takes the next scripted response; when the script is empty, ``default``
answers. Every request is recorded (path, headers, JSON body), so tests count them and read the
``x-stainless-retry-count`` and ``authorization`` headers the real SDK sent.

It checks requests as the API does and answers a bad one with the API's error shape, without
taking a scripted response: the path (``/v1/messages``), the ``anthropic-version`` header, the key
(any non-empty key, or one of ``keys``: else 401), the body's required fields and types, the
model id (unknown -> 404 ``not_found_error``), tool names and schemas (strict tools: every object
closed with ``additionalProperties: false`` and no keyword strict mode rejects), ``tool_choice``
(forced tool use is a 400 on models that always think) and ``thinking``. Every answer carries a
``request-id`` header. Scripted answers can hold thinking blocks, text before the tool call, a
``max_tokens`` or ``refusal`` stop, rate-limit headers and a long ``retry-after``.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The SDK's model ids (anthropic/types/model.py) that tests use; anything else is a 404.
MODELS = frozenset(
    {
        "claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5", "claude-fable-5-2",
        "claude-mythos-5-2", "claude-fable-5-1", "claude-sonnet-5", "claude-opus-5",
        "claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-8", "claude-opus-4-7",
        "claude-sonnet-4-6", "claude-opus-4-6",
    }
)  # fmt: skip
NO_FORCED_TOOL = frozenset({"claude-opus-5-5", "claude-sonnet-5-5", "claude-fable-5-1"})
NO_DISABLED_THINKING = frozenset({"claude-opus-5-5", "claude-sonnet-5-5", "claude-fable-5-1"})
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
STRICT_UNSUPPORTED = ("minLength", "maxLength", "minimum", "maximum", "maxItems", "pattern")
DEFAULT_USAGE = {
    "input_tokens": 100,
    "output_tokens": 20,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
}


@dataclass
class Response:
    """One scripted answer. ``kind``: ok, text, status, malformed, hang, stall."""

    kind: str
    status: int = 200
    delay: float = 0.0  # seconds to wait before answering (requests stay "in flight")
    tool_input: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]] | None = None
    usage: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_USAGE))
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    stop_reason: str | None = None  # None: tool_use for ok, end_turn for text
    thinking: bool = False  # a thinking block first
    preamble: str | None = None  # text before the tool call
    stop_details: dict[str, Any] | None = None


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

    def __init__(
        self,
        default: Response | None = None,
        *,
        keys: set[str] | None = None,
        models: frozenset[str] = MODELS,
    ) -> None:
        self.default = default or self.ok({})
        self.keys = keys
        self.models = models
        self.rejected: list[str] = []  # why each invalid request was refused
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._script: deque[Response] = deque()
        self._by_tool: dict[str, deque[Response]] = {}  # first tool's name -> its own script
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

    def script_for(self, tool: str, *responses: Response) -> None:
        """Answers for requests whose first tool is ``tool``, in order (before ``script``'s):
        for steps an agent sends concurrently, whose arrival order is not fixed."""
        with self._lock:
            self._by_tool.setdefault(tool, deque()).extend(responses)

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
    def thinking_then_tool(tool_input: Any, preamble: str = "Let me look at this.") -> Response:
        """200 with a thinking block and text before the tool call (what thinking models do)."""
        return Response("ok", tool_input=tool_input, thinking=True, preamble=preamble)

    @staticmethod
    def cut_off(partial: Any = None) -> Response:
        """200 stopped at ``max_tokens``: thinking, then a cut-off tool call (``partial``)."""
        return Response("ok", tool_input=partial or {}, stop_reason="max_tokens", thinking=True)

    @staticmethod
    def refusal(category: str | None = "cyber", explanation: str | None = None) -> Response:
        """200 with ``stop_reason: refusal`` and its ``stop_details``."""
        details = {"type": "refusal", "category": category, "explanation": explanation}
        return Response("text", stop_reason="refusal", stop_details=details)

    @staticmethod
    def status(code: int, kind: str, message: str) -> Response:
        """An error answer in the API's shape (401 authentication_error, 404 not_found_error...)."""
        return Response("status", code, body=_error(kind, message))

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
            headers={
                "retry-after-ms": str(retry_after_ms),
                "retry-after": "0",
                "anthropic-ratelimit-requests-limit": "50",
                "anthropic-ratelimit-requests-remaining": "0",
                "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01Z",
            },
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
    def stall(tool_input: Any = None) -> Response:
        """Start streaming the answer (headers, ``message_start``, the first block) and then go
        silent: a generation under way that the client abandons (it may still be billed)."""
        return Response("stall", tool_input=tool_input or {})

    @staticmethod
    def hang() -> Response:
        """Accept the request and never answer (until the server stops)."""
        return Response("hang")

    # -- serving ---------------------------------------------------------------------------------
    def _next(self, recorded: Recorded) -> Response:
        problem = self.check(recorded)
        with self._lock:
            self.requests.append(recorded)
            if problem is not None:
                self.rejected.append(problem[2])
                return Response("status", problem[0], body=_error(problem[1], problem[2]))
            tools = recorded.body.get("tools") if isinstance(recorded.body, dict) else None
            tool = str(tools[0].get("name", "")) if isinstance(tools, list) and tools else ""
            if self._by_tool.get(tool):
                return self._by_tool[tool].popleft()
            return self._script.popleft() if self._script else self.default

    # -- what the API refuses --------------------------------------------------------------------
    def check(self, recorded: Recorded) -> tuple[int, str, str] | None:
        """(status, error type, message) of an invalid request, or None."""
        if recorded.path.split("?")[0] != "/v1/messages":
            return 404, "not_found_error", f"no route {recorded.path}"
        headers = recorded.headers
        if not headers.get("anthropic-version"):
            return 400, "invalid_request_error", "anthropic-version: header is required"
        key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        if not key.strip() or (self.keys is not None and key not in self.keys):
            return 401, "authentication_error", "invalid x-api-key"
        body = recorded.body
        if not isinstance(body, dict):
            return 400, "invalid_request_error", "the body must be a JSON object"
        return _check_body(body, self.models)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # the API has no GET routes the SDK uses here
                self.do_POST()

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
                kind = "application/json"
                if status == 200 and response.body is None and (body or {}).get("stream"):
                    payload, kind = _events(json.loads(payload)), "text/event-stream"
                cut = len(payload)
                if response.kind == "stall":  # up to the first delta, then silence
                    cut = payload.index(b"event: content_block_delta")
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(payload)))
                self.send_header("request-id", f"req_fake_{fake.count:04d}")
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload[:cut])
                if cut < len(payload):
                    self.wfile.flush()
                    fake._release.wait(60)
                    self.close_connection = True

        return Handler

    def _payload(self, response: Response, request: dict[str, Any]) -> bytes:
        if response.body is not None:
            return response.body
        tools = request.get("tools") or [{"name": "tool"}]
        content: list[dict[str, Any]] = []
        if response.thinking:
            content.append({"type": "thinking", "thinking": "Considering.", "signature": "sig"})
        if response.preamble:
            content.append({"type": "text", "text": response.preamble})
        if response.kind == "text" or (response.kind == "ok" and not request.get("tools")):
            if response.stop_reason != "refusal":  # no tools offered: the model can only write
                content.append({"type": "text", "text": "Here is my answer."})
        else:
            value = response.tool_input
            tool_input = value(request) if callable(value) else value
            content.append(
                {
                    "type": "tool_use",
                    "id": "toolu_01",
                    "name": tools[0]["name"],
                    "input": tool_input,
                }
            )
        called = response.kind in ("ok", "stall") and bool(request.get("tools"))
        stop = response.stop_reason or ("tool_use" if called else "end_turn")
        message = {
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": request.get("model", "unknown"),
            "content": content,
            "stop_reason": stop,
            "stop_details": response.stop_details,
            "stop_sequence": None,
            "usage": response.usage,
        }
        return json.dumps(message).encode()


def _events(message: dict[str, Any]) -> bytes:
    """``message`` as the API streams it (server-sent events): message_start, each block's
    start / deltas / stop, message_delta with the stop reason and usage, message_stop. A tool call
    cut off at ``max_tokens`` streams only half of its JSON."""
    events: list[dict[str, Any]] = []
    usage = dict(message["usage"])
    start = {**message, "content": [], "stop_reason": None, "stop_details": None,
             "usage": {**usage, "output_tokens": 1}}  # fmt: skip
    events.append({"type": "message_start", "message": start})
    for index, block in enumerate(message["content"]):
        kind = block["type"]
        if kind == "thinking":
            first = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": block["thinking"]},
                      {"type": "signature_delta", "signature": block["signature"]}]  # fmt: skip
        elif kind == "text":
            first = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": block["text"]}]
        else:
            first = {**block, "input": {}}
            text = json.dumps(block["input"])
            if message["stop_reason"] == "max_tokens":
                text = text[: len(text) // 2]
            deltas = [{"type": "input_json_delta", "partial_json": text}]
        events.append({"type": "content_block_start", "index": index, "content_block": first})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None,
             "stop_details": message.get("stop_details")}  # fmt: skip
    events.append({"type": "message_delta", "delta": delta, "usage": usage})
    events.append({"type": "message_stop"})
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def _check_body(body: dict[str, Any], models: frozenset[str]) -> tuple[int, str, str] | None:
    bad = "invalid_request_error"
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return 400, bad, "model: Field required (a string)"
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        return 400, bad, "max_tokens: Field required (a positive integer)"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return 400, bad, "messages: Field required (a non-empty list)"
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return 400, bad, "messages: each needs a role of user or assistant"
        if not isinstance(message.get("content"), str | list):
            return 400, bad, "messages: content must be a string or a list of blocks"
    if "stream" in body and not isinstance(body["stream"], bool):
        return 400, bad, "stream: must be a boolean"
    if "system" in body and not isinstance(body["system"], str | list):
        return 400, bad, "system: must be a string or a list of text blocks"
    if model not in models:
        return 404, "not_found_error", f"model: {model}"
    tools = body.get("tools", [])
    names = set()
    for tool in tools if isinstance(tools, list) else [None]:
        if not isinstance(tool, dict) or not TOOL_NAME.match(str(tool.get("name", ""))):
            return 400, bad, "tools: each name must match ^[a-zA-Z0-9_-]{1,64}$"
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            return 400, bad, f"tools.{tool['name']}.input_schema: type must be object"
        if tool.get("strict"):
            problem = _strict_problem(schema, f"tools.{tool['name']}.input_schema")
            if problem:
                return 400, bad, problem
        names.add(tool["name"])
    thinking = body.get("thinking")
    thinks = model in NO_DISABLED_THINKING or (
        isinstance(thinking, dict) and thinking.get("type") in ("adaptive", "enabled")
    )
    if isinstance(thinking, dict):
        kind = thinking.get("type")
        if kind == "disabled" and model in NO_DISABLED_THINKING:
            return 400, bad, f'"thinking.type.disabled" is not supported for {model}'
        if kind == "enabled" and model in NO_DISABLED_THINKING:
            return 400, bad, f'"thinking.type.enabled" is not supported for {model}'
        if kind == "between_tools" and model != "claude-sonnet-5-5":
            return 400, bad, f'"thinking.type.between_tools" is not supported for {model}'
    choice = body.get("tool_choice")
    if choice is not None and not names:
        return 400, bad, "tool_choice: may only be specified while providing tools"
    if isinstance(choice, dict):
        if choice.get("type") in ("tool", "any"):
            if thinks or model in NO_FORCED_TOOL:
                return 400, bad, f"tool_choice: forced tool use is not supported for {model}"
            if choice.get("type") == "tool" and choice.get("name") not in names:
                return 400, bad, "tool_choice.name: no tool of that name"
        if "disable_parallel_tool_use" in choice and not isinstance(
            choice["disable_parallel_tool_use"], bool
        ):
            return 400, bad, "tool_choice.disable_parallel_tool_use: must be a boolean"
    effort = (body.get("output_config") or {}).get("effort")
    if effort is not None and effort not in ("low", "medium", "high", "xhigh", "max"):
        return 400, bad, "output_config.effort: unknown level"
    return None


def _strict_problem(schema: Any, where: str) -> str | None:
    """What strict tool use rejects in ``schema`` (open objects, unsupported keywords)."""
    if not isinstance(schema, dict):
        return None
    if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
        return f"{where}: strict tools need additionalProperties: false on every object"
    for keyword in STRICT_UNSUPPORTED:
        if keyword in schema:
            return f"{where}: {keyword} is not supported with strict tools"
    for key, sub in (schema.get("properties") or {}).items():
        problem = _strict_problem(sub, f"{where}.{key}")
        if problem:
            return problem
    return _strict_problem(schema.get("items"), f"{where}.items")


def _error(kind: str, message: str) -> bytes:
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": None}
    return json.dumps(body).encode()


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
