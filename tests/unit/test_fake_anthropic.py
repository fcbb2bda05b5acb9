"""The fake Messages API refuses what the API refuses (the old one answered 200 to
``POST /v1/nonsense`` with ``model: 42`` and a tool named "bad name!"), with the API's error shape
and a request id, and answers a request without tools with text, as a model must."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.fake_anthropic import FakeAnthropic

HEADERS = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
TOOL = {
    "name": "submit",
    "input_schema": {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "additionalProperties": False,
    },
    "strict": True,
}
GOOD = {
    "model": "claude-haiku-5-5",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "hi"}],
}


def post(fake: FakeAnthropic, body: Any, path: str = "/v1/messages", **headers: str):
    return httpx2.post(f"{fake.url}{path}", json=body, headers={**HEADERS, **headers}, timeout=5)


BAD = [
    ("/v1/nonsense", {**GOOD}, {}, 404, "no route"),
    ("/v1/messages", {**GOOD, "model": 42}, {}, 400, "model"),
    ("/v1/messages", {**GOOD, "model": "claude-sonet-5-5"}, {}, 404, "model: claude-sonet-5-5"),
    ("/v1/messages", {**GOOD, "max_tokens": "100"}, {}, 400, "max_tokens"),
    ("/v1/messages", {k: v for k, v in GOOD.items() if k != "messages"}, {}, 400, "messages"),
    ("/v1/messages", {**GOOD, "tools": [{**TOOL, "name": "bad name!"}]}, {}, 400, "tools"),
    (
        "/v1/messages",
        {**GOOD, "tools": [{**TOOL, "input_schema": {"type": "object"}}]},
        {},
        400,
        "additionalProperties",
    ),
    (
        "/v1/messages",
        {
            **GOOD,
            "model": "claude-sonnet-5-5",
            "tools": [TOOL],
            "tool_choice": {"type": "tool", "name": "submit"},
        },
        {},
        400,
        "forced tool use",
    ),
    ("/v1/messages", {**GOOD, "tool_choice": {"type": "auto"}}, {}, 400, "tool_choice"),
    (
        "/v1/messages",
        {**GOOD, "model": "claude-opus-5-5", "thinking": {"type": "disabled"}},
        {},
        400,
        "thinking",
    ),
    ("/v1/messages", {**GOOD, "output_config": {"effort": "huge"}}, {}, 400, "effort"),
    ("/v1/messages", GOOD, {"anthropic-version": ""}, 400, "anthropic-version"),
    ("/v1/messages", GOOD, {"x-api-key": ""}, 401, "x-api-key"),
]


@pytest.mark.parametrize(("path", "body", "headers", "code", "says"), BAD)
def test_what_the_api_refuses_is_refused(path, body, headers, code, says) -> None:
    with FakeAnthropic() as fake:
        fake.script(fake.ok({"a": "scripted answer, never taken"}))
        answer = post(fake, body, path, **headers)
        assert fake.rejected and says in fake.rejected[0]
        assert len(fake._script) == 1  # a refused request takes no scripted answer
    assert answer.status_code == code
    assert answer.json()["type"] == "error" and says in answer.json()["error"]["message"]
    assert answer.headers["request-id"].startswith("req_")


def test_a_valid_request_is_answered_as_the_model_would() -> None:
    with FakeAnthropic() as fake:
        with_tool = post(
            fake, {**GOOD, "tools": [TOOL], "tool_choice": {"type": "tool", "name": "submit"}}
        )
        without = post(fake, GOOD)
        assert fake.rejected == []
    assert with_tool.json()["stop_reason"] == "tool_use"
    assert with_tool.json()["content"][-1]["name"] == "submit"
    assert without.json()["stop_reason"] == "end_turn"
    assert [b["type"] for b in without.json()["content"]] == ["text"]
