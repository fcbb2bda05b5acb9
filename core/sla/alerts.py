"""The alert state machine of one check, its persistence, acknowledgements and the alert list.

A check turns *violated* after ``failure_threshold`` consecutive failed runs and *ok* again after
``success_threshold`` consecutive good ones. Notices: ``violated`` (once per episode, not within
``cooldown`` of the check's previous notice, held back while muted by maintenance and sent when
the mute ends), ``reminder`` (every ``reminder_interval`` while violated, unless acknowledged or
muted), ``resolved`` (when a notified episode ends; an acknowledgement ends with it).
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

from controlroom.core.errors import UsageError
from controlroom.core.secrets import redact

NOTICE_KINDS = ("violated", "reminder", "resolved", "acknowledged")


@dataclass(frozen=True)
class AlertPolicy:
    failure_threshold: int = 3
    success_threshold: int = 2
    reminder_interval: float = 3600.0
    cooldown: float = 300.0


@dataclass
class AlertState:
    check_name: str
    state: str = "ok"
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    since: float | None = None
    notified: bool = False
    last_notified_at: float | None = None
    acked_at: float | None = None
    acked_by: str | None = None

    @classmethod
    def from_row(cls, name: str, row: sqlite3.Row | None) -> AlertState:
        if row is None:
            return cls(name)
        return cls(
            name,
            row["state"],
            row["consecutive_failures"],
            row["consecutive_successes"],
            row["since"],
            bool(row["notified"]),
            row["last_notified_at"],
            row["acked_at"],
            row["acked_by"],
        )


@dataclass(frozen=True)
class Alert:
    """A stored notice: what the TUI lists and the webhook sends."""

    id: int
    at: float
    check_name: str
    kind: str
    severity: str
    message: str
    value: float | None = None
    threshold: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def step(
    state: AlertState, ok: bool, *, now: float, muted: bool, policy: AlertPolicy
) -> str | None:
    """Advance ``state`` by one result (in place); the notice kind to send, if any."""
    if ok:
        state.consecutive_successes += 1
        state.consecutive_failures = 0
        if state.state == "violated" and state.consecutive_successes >= policy.success_threshold:
            notice = "resolved" if state.notified else None
            state.state, state.since, state.notified = "ok", now, False
            state.acked_at = state.acked_by = None
            if notice:
                state.last_notified_at = now
            return notice
        return None
    state.consecutive_failures += 1
    state.consecutive_successes = 0
    if state.state == "ok" and state.consecutive_failures >= policy.failure_threshold:
        state.state, state.since, state.notified = "violated", now, False
    if state.state != "violated" or muted:
        return None
    last = state.last_notified_at
    if not state.notified:
        if last is None or now - last >= policy.cooldown:
            state.notified, state.last_notified_at = True, now
            return "violated"
        return None
    if state.acked_at is None and last is not None and now - last >= policy.reminder_interval:
        state.last_notified_at = now
        return "reminder"
    return None


async def load_state(conn: Any, name: str) -> AlertState:
    cursor = await conn.execute("SELECT * FROM sla_check_state WHERE check_name = ?", (name,))
    return AlertState.from_row(name, await cursor.fetchone())


async def insert_alert(
    conn: Any,
    *,
    at: float,
    check_name: str,
    kind: str,
    severity: str,
    message: str,
    value: float | None = None,
    threshold: float | None = None,
) -> Alert:
    message = redact(message) or ""
    cursor = await conn.execute(
        "INSERT INTO sla_alerts (at, check_name, kind, severity, message, value, threshold)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (at, check_name, kind, severity, message, value, threshold),
    )
    return Alert(cursor.lastrowid, at, check_name, kind, severity, message, value, threshold)


async def acknowledge(store: Any, name: str, *, now: float, by: str = "operator") -> Alert:
    """Stop reminders for a violated check until it recovers. UsageError when it is not violated."""
    async with store.transaction() as conn:
        state = await load_state(conn, name)
        if state.state != "violated":
            raise UsageError(f"the SLA check {name} is not violated: nothing to acknowledge")
        if state.acked_at is not None:
            raise UsageError(f"the SLA check {name} is already acknowledged by {state.acked_by}")
        await conn.execute(
            "UPDATE sla_check_state SET acked_at = ?, acked_by = ? WHERE check_name = ?",
            (now, by, name),
        )
        severity = await _last_severity(conn, name)
        return await insert_alert(
            conn,
            at=now,
            check_name=name,
            kind="acknowledged",
            severity=severity,
            message=f"{name} acknowledged by {by}: reminders stop until it recovers",
        )


async def _last_severity(conn: Any, name: str) -> str:
    cursor = await conn.execute(
        "SELECT severity FROM sla_alerts WHERE check_name = ? ORDER BY id DESC LIMIT 1", (name,)
    )
    row = await cursor.fetchone()
    return row[0] if row else "medium"


async def list_alerts(store: Any, *, limit: int = 200, check: str | None = None) -> list[Alert]:
    """Newest first."""
    where, params = ("WHERE check_name = ?", [check]) if check else ("", [])
    rows = await store.fetchall(
        f"SELECT id, at, check_name, kind, severity, message, value, threshold FROM sla_alerts "
        f"{where} ORDER BY id DESC LIMIT ?",
        [*params, limit],
    )
    return [Alert(*tuple(row)) for row in rows]
