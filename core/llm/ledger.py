"""The cost ledger: one row per call (or imported call); a trigger keeps the daily rollup."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

from controlroom.core.errors import UsageError
from controlroom.core.llm.pricing import PriceTable, Usage
from controlroom.core.store import Store

# ok; invalid (schema or the agent's check); failed; timeout (abandoned: cost unknown); config
# (400-404: LLM off for the run); truncated (max_tokens); refusal; no_tool; too_long; paused.
STATUSES = (
    "ok", "invalid", "failed", "timeout", "config", "truncated", "refusal", "no_tool", "too_long",
    "paused",
)  # fmt: skip

_INSERT = """
INSERT INTO llm_calls (at, day, agent, purpose, commit_sha, task, prompt, model, tier, rule,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, latency_ms, retries,
    status, error, cost_usd, source, request_id, cache_write_1h_tokens)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def utc_day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")


@dataclass(slots=True)
class CallRecord:
    """What the ledger keeps about one call. ``cost_usd`` None means the model is unpriced."""

    at: float
    agent: str
    model: str
    status: str
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    tier: str = ""
    rule: str = ""
    purpose: str = ""
    commit_sha: str | None = None
    task: str = ""
    prompt: str = ""
    latency_ms: float = 0.0
    retries: int = 0
    error: str | None = None
    source: str = "api"
    request_id: str | None = None

    def params(self) -> tuple[Any, ...]:
        u = self.usage
        return (
            self.at,
            utc_day(self.at),
            self.agent,
            self.purpose,
            self.commit_sha,
            self.task[:200],
            self.prompt,
            self.model,
            self.tier,
            self.rule,
            u.input_tokens,
            u.output_tokens,
            u.cache_read_tokens,
            u.cache_write_tokens,
            self.latency_ms,
            self.retries,
            self.status,
            self.error,
            self.cost_usd,
            self.source,
            self.request_id,
            u.cache_write_1h_tokens,
        )


async def insert_call(conn: aiosqlite.Connection, record: CallRecord) -> int:
    """Insert inside the caller's transaction; returns the row id."""
    cursor = await conn.execute(_INSERT, record.params())
    return cursor.lastrowid or 0


async def record_call(store: Store, record: CallRecord) -> int:
    async with store.transaction() as conn:
        return await insert_call(conn, record)


async def recent_calls(store: Store, *, limit: int = 50) -> list[dict[str, Any]]:
    rows = await store.fetchall("SELECT * FROM llm_calls ORDER BY id DESC LIMIT ?", (limit,))
    return [dict(r) for r in rows]


# -- import ----------------------------------------------------------------------------------------
_TOKEN_FIELDS = {
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "cache_read_input_tokens": "cache_read_tokens",
    "cache_read_tokens": "cache_read_tokens",
    "cache_creation_input_tokens": "cache_write_tokens",
    "cache_write_tokens": "cache_write_tokens",
}


_MAX_TOKENS = 2**53  # whole numbers beyond this lose precision as costs and overflow nothing
_MAX_UNIX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number controlroom accepts")


def _timestamp(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("timestamp must be ISO 8601 text or unix seconds")
    if isinstance(value, int | float):
        if not 0 <= value <= _MAX_UNIX_SECONDS:
            raise ValueError("unix seconds must be between 0 and 253402300799")
        return float(value)
    if isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp()
    raise ValueError("timestamp must be ISO 8601 text or unix seconds")


def _whole(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_TOKENS:
        raise ValueError(f"{key!r} must be a whole number from 0 to 2**53, not {value!r}")
    return value


def _cache_write_split(data: dict[str, Any], tokens: dict[str, int]) -> None:
    """The 1-hour share of the cache writes, as the API's ``usage.cache_creation`` gives it
    (``ephemeral_1h_input_tokens`` / ``ephemeral_5m_input_tokens``) or as ``cache_write_1h_tokens``.
    Without a total (``cache_creation_input_tokens``) the total is the sum of the split."""
    split = data.get("cache_creation")
    hour = five = None
    if split is not None:
        if not isinstance(split, dict):
            raise ValueError("'cache_creation' must be an object")
        if split.get("ephemeral_1h_input_tokens") is not None:
            hour = _whole(
                split["ephemeral_1h_input_tokens"], "cache_creation.ephemeral_1h_input_tokens"
            )
        if split.get("ephemeral_5m_input_tokens") is not None:
            five = _whole(
                split["ephemeral_5m_input_tokens"], "cache_creation.ephemeral_5m_input_tokens"
            )
    if data.get("cache_write_1h_tokens") is not None:
        flat = _whole(data["cache_write_1h_tokens"], "cache_write_1h_tokens")
        if hour is not None and flat != hour:
            raise ValueError(
                "'cache_write_1h_tokens' and cache_creation.ephemeral_1h_input_tokens differ"
            )
        hour = flat
    if hour is None and five is None:
        return
    total = tokens.get("cache_write_tokens")
    if total is None:
        total = tokens["cache_write_tokens"] = (hour or 0) + (five or 0)
    if (hour or 0) + (five or 0) > total:
        raise ValueError(
            f"the cache write split ({hour or 0} 1-hour + {five or 0} 5-minute tokens) is more than"
            f" 'cache_creation_input_tokens' ({total})"
        )
    if hour:
        tokens["cache_write_1h_tokens"] = hour


def parse_import_line(text: str, prices: PriceTable, tier_of: Any) -> CallRecord:
    """One JSONL record -> a CallRecord; ValueError naming what is wrong."""
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise ValueError("not valid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ValueError("a record must be a JSON object")
    for key in ("timestamp", "model", "input_tokens", "output_tokens"):
        if key not in data:
            raise ValueError(f"missing {key!r}")
    try:
        at = _timestamp(data["timestamp"])
    except ValueError as exc:
        raise ValueError(f"bad timestamp {data['timestamp']!r}: {exc}") from None
    model = data["model"]
    if not isinstance(model, str) or not model:
        raise ValueError("'model' must be a non-empty string")
    tokens: dict[str, int] = {}
    for key, name in _TOKEN_FIELDS.items():
        if key not in data or data[key] is None:
            continue
        tokens[name] = _whole(data[key], key)
    _cache_write_split(data, tokens)
    agent = data.get("agent", "imported")
    if not isinstance(agent, str) or not agent:
        raise ValueError("'agent' must be a non-empty string")
    usage = Usage(**tokens)
    return CallRecord(
        at=at,
        agent=agent,
        model=model,
        status="ok",
        usage=usage,
        cost_usd=prices.cost(model, usage),
        tier=tier_of(model),
        rule="import",
        source="import",
    )


async def import_jsonl(store: Store, path: Path, prices: PriceTable, tier_of: Any) -> int:
    """Load every record of ``path`` in one transaction: all or nothing. Returns the count.

    A bad record raises UsageError ``FILE:LINE: what is wrong`` (exit 2) and nothing is written.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(parse_import_line(line, prices, tier_of))
        except ValueError as exc:
            raise UsageError(f"{path}:{number}: {exc}") from None
    async with store.transaction() as conn:
        await conn.executemany(_INSERT, [r.params() for r in records])
    return len(records)
