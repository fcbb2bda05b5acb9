"""Muted rules and paths: their open tasks leave the Queue pane until the mute is lifted.

A mute made from a task feeds learning as a rejection of that task would (one vote against the
rule in that task's scope, ``core/learning.py``), in the mute's transaction; lifting it takes the
vote back.

A mute is a row of ``mutes`` (migration 0015); lifting it sets ``removed_at``, so every mute ever
made stays listed. The Queue pane reads the active mutes on each load and hides their tasks through
``TaskView(muted_rules=..., muted_paths=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controlroom.core.config import Config
from controlroom.core.learning import learn_transition
from controlroom.core.model import Task, TaskState
from controlroom.core.task_rows import TASK_COLUMNS, task_from_row

KINDS = ("rule", "path")


@dataclass(frozen=True, slots=True)
class Mute:
    id: int
    kind: str
    value: str
    created_at: float


async def mute(
    store: Any,
    kind: str,
    value: str,
    *,
    now: float,
    task: Task | None = None,
    config: Config | None = None,
) -> Mute:
    """Mute ``value`` (a rule id, or a path prefix); muting it again returns the active mute.
    ``task``: the row it is muted from, whose scope the learning vote takes."""
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
            "INSERT INTO mutes (kind, value, created_at, task_id) VALUES (?, ?, ?, ?)",
            (kind, value, now, task.id if task is not None else None),
        )
        if task is not None:
            await learn_transition(conn, task, TaskState.PENDING, TaskState.REJECTED, now, config)
        return Mute(int(cursor.lastrowid or 0), kind, value, now)


async def unmute(store: Any, mute_id: int, *, now: float, config: Config | None = None) -> None:
    """Lift a mute; the learning vote it cast is taken back."""
    async with store.transaction() as conn:
        cursor = await conn.execute(
            f"SELECT {', '.join('t.' + c.strip() for c in TASK_COLUMNS.split(','))} FROM mutes m "
            "JOIN tasks t ON t.id = m.task_id WHERE m.id = ? AND m.removed_at IS NULL",
            (mute_id,),
        )
        row = await cursor.fetchone()
        await conn.execute(
            "UPDATE mutes SET removed_at = ? WHERE id = ? AND removed_at IS NULL", (now, mute_id)
        )
        if row is not None:
            task = task_from_row(row)
            await learn_transition(conn, task, TaskState.REJECTED, TaskState.PENDING, now, config)


async def active_mutes(store: Any) -> list[Mute]:
    rows = await store.fetchall(
        "SELECT id, kind, value, created_at FROM mutes WHERE removed_at IS NULL ORDER BY id"
    )
    return [Mute(r[0], r[1], r[2], r[3]) for r in rows]
