"""``http``: GET or HEAD a URL; expected status, latency limit, an optional JSON field condition.

The request runs on the event loop with a total deadline (the check's timeout) and reads at most
:data:`MAX_BODY` bytes of the body (see :mod:`controlroom.core.sla.fetch`)."""

from __future__ import annotations

import json
from typing import Any

from controlroom.core.sla import fetch
from controlroom.core.sla.checks.base import CheckContext, CheckFailed, Outcome
from controlroom.core.sla.definitions import CheckDef
from controlroom.core.sla.durations import format_duration

MAX_BODY = 1_000_000
_MISSING = object()


async def _fetch(url: str, method: str, timeout: float) -> tuple[int, bytes, float]:
    try:
        answer = await fetch.request(
            method, url, deadline=timeout, max_body=MAX_BODY, follow_redirects=True
        )
    except fetch.FetchFailed as exc:
        raise CheckFailed(f"{method} {url} failed: {exc}") from exc
    return answer.status, answer.body, answer.latency


def json_field(document: Any, dotted: str) -> Any:
    """``"data.items.0.id"`` inside a decoded JSON document, or a sentinel when absent."""
    node = document
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif (
            isinstance(node, list)
            and part.lstrip("-").isdigit()
            and -len(node) <= int(part) < len(node)
        ):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def compare(actual: Any, op: str, expected: Any) -> bool:
    if op == "exists":
        return actual is not _MISSING
    if actual is _MISSING:
        return False
    if op == "contains":
        return str(expected) in (actual if isinstance(actual, list) else str(actual))
    if op in ("==", "!="):
        equal = actual == expected or str(actual) == str(expected)
        return equal if op == "==" else not equal
    try:
        left, right = float(actual), float(expected)
    except (TypeError, ValueError):
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


async def http(check: CheckDef, ctx: CheckContext) -> Outcome:
    params = check.params
    method = params.get("method", "GET").upper()
    status, body, latency = await _fetch(params["url"], method, check.timeout)
    expected = int(params.get("expect_status", 200))
    if status != expected:
        return Outcome(False, latency, f"HTTP {status}, expected {expected}")
    limit = params.get("max_latency")
    if limit is not None and latency > limit:
        return Outcome(
            False,
            latency,
            f"HTTP {status} in {format_duration(latency)}, over {format_duration(limit)}",
        )
    if "json_field" in params:
        try:
            document = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return Outcome(False, latency, "the response is not JSON")
        field = params["json_field"]
        op = params.get("json_op", "==")
        actual = json_field(document, field)
        if not compare(actual, op, params.get("json_value")):
            shown = "missing" if actual is _MISSING else json.dumps(actual)[:60]
            return Outcome(
                False,
                latency,
                f"{field} is {shown}, expected {op} {params.get('json_value', '')}".rstrip(),
            )
    return Outcome(True, latency, f"HTTP {status} in {format_duration(latency)}")
