"""Muted rules and paths: their open tasks leave the Queue pane until the mute is lifted.

A mute is a row of ``mutes`` (migration 0013); lifting it sets ``removed_at``, so every mute ever
made stays listed. The Queue pane reads the active mutes on each load and hides their tasks through
``TaskView(muted_rules=..., muted_paths=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = ("rule", "path")


@dataclass(frozen=True, slots=True)
class Mute:
    id: int
    kind: str
    value: str
    created_at: float


async def mute(store: Any, kind: str, value: str, *, now: float) -> Mute:
    """Mute ``value`` (a rule id, or a path prefix); muting it again returns the active mute."""
    if kind not in KINDS:
        raise ValueError(f"a mute is of a rule or a path, not {kind!r}")
    async with store.transaction() as conn:
        cursor = await conn.execute(
            "SELECT id, created_at FROM mutes WHERE kind = ? AND value = ? AND removed_at IS NULL",
            (kind, value),
        )
        row = await cursor.fetchone()
        if row is not None:
            return Mute(row[0], kind, value, row[1])
        cursor = await conn.execute(
            "INSERT INTO mutes (kind, value, created_at) VALUES (?, ?, ?)", (kind, value, now)
        )
        return Mute(int(cursor.lastrowid or 0), kind, value, now)


async def unmute(store: Any, mute_id: int, *, now: float) -> None:
    await store.execute(
        "UPDATE mutes SET removed_at = ? WHERE id = ? AND removed_at IS NULL", (now, mute_id)
    )


async def active_mutes(store: Any) -> list[Mute]:
    rows = await store.fetchall(
        "SELECT id, kind, value, created_at FROM mutes WHERE removed_at IS NULL ORDER BY id"
    )
    return [Mute(r[0], r[1], r[2], r[3]) for r in rows]
