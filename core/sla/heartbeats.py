"""Heartbeat pings from outside jobs (``controlroom sla ping NAME``)."""

from __future__ import annotations

import time
from typing import Any

from controlroom.core.errors import UsageError
from controlroom.core.secrets import redact
from controlroom.core.sla.definitions import load_checks


async def record_ping(
    store: Any, config: Any, name: str, *, now: float | None = None, note: str | None = None
) -> float:
    """Record a ping for the heartbeat check ``name``; UsageError if there is no such check."""
    check = next((c for c in load_checks(config) if c.name == name), None)
    if check is None or check.kind != "heartbeat":
        known = [c.name for c in load_checks(config) if c.kind == "heartbeat"]
        hint = f" (heartbeat checks: {', '.join(known)})" if known else " (none is configured)"
        raise UsageError(f"no heartbeat SLA check named {name}{hint}")
    at = time.time() if now is None else now
    await store.execute(
        "INSERT INTO sla_heartbeats (check_name, last_ping, pings, note) VALUES (?, ?, 1, ?)"
        " ON CONFLICT (check_name) DO UPDATE SET last_ping = excluded.last_ping,"
        " pings = pings + 1, note = excluded.note",
        (name, at, redact(note)),
    )
    return at
