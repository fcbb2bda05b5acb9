"""What the queue learns from the operator's decisions: approvals and rejections per (agent, rule),
moved in the same transaction as the decision and read back by convergence."""

from __future__ import annotations

from typing import Any

import aiosqlite

from controlroom.core.model import Task, TaskState
from controlroom.core.store import Store

_COLUMNS = {TaskState.APPROVED: "approved", TaskState.REJECTED: "rejected"}


async def _count(
    conn: aiosqlite.Connection, task: Task, state: TaskState, delta: int, at: float
) -> None:
    column = _COLUMNS.get(state)
    if column is None:
        return
    for agent in task.agents:
        await conn.execute(
            f"INSERT INTO learned_weights (agent, rule, {column}, updated_at) VALUES (?, ?, ?, ?) "
            f"ON CONFLICT (agent, rule) DO UPDATE SET {column} = max(0, {column} + ?), updated_at = ?",
            (agent, task.rule, max(0, delta), at, delta, at),
        )


async def learn_transition(
    conn: aiosqlite.Connection, task: Task, old: TaskState, new: TaskState, at: float
) -> None:
    """Move the weights of every agent behind ``task`` for ``old`` -> ``new`` (or its undo)."""
    await _count(conn, task, old, -1, at)
    await _count(conn, task, new, +1, at)


async def load_weights(store: Store) -> dict[tuple[str, str], Any]:
    """Learned weights for convergence, keyed by (agent, rule)."""
    from controlroom.core.convergence import Weight

    rows = await store.fetchall("SELECT agent, rule, approved, rejected FROM learned_weights")
    return {(r["agent"], r["rule"]): Weight(r["approved"], r["rejected"]) for r in rows}
