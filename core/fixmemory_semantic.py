"""Retrieval by meaning for the fix-strategy memory (``[apply] retrieval = "meaning"``, the
optional extra ``controlroom[semantic]``, docs/learning.md): each attempt's message, summary and
failure detail embedded once and kept (``fix_attempt_vectors``), ranked by cosine with the task's
message; ``core/fixmemory.py`` re-ranks them by closeness."""

from __future__ import annotations

from typing import Any

import aiosqlite

from controlroom.core.embeddings import embedder, from_blob, to_blob
from controlroom.core.fixmemory import ATTEMPT_COLUMNS, Attempt, fetch_rows
from controlroom.core.model import Task
from controlroom.core.store import Store


def _attempt_text(row: Any) -> str:
    """What an attempt is about, in words: rule codes and paths are left to the closeness order
    (in a sentence embedding they only blur the meaning)."""
    return f"{row['message']}\n{row['summary']}\n{row['failure_detail']}"


# (database, model) -> (highest attempt id embedded, attempt ids, their vectors): the knowledge
# base only grows, so a process reads the vectors once and then only the attempts after them.
_VECTORS: dict[tuple[str, str], tuple[int, list[int], Any]] = {}


async def semantic_candidates(
    source: Store | aiosqlite.Connection, task: Task, count: int
) -> list[Attempt]:
    """The ``count`` attempts whose embedding is closest to the task's; attempts without a vector
    are embedded first (and kept, unless ``source`` is a read-only store)."""
    import numpy as np

    model = embedder()
    key = (str(source.path) if isinstance(source, Store) else f"conn{id(source)}", model.name)
    empty: tuple[int, list[int], Any] = (0, [], np.zeros((0, model.dim), np.float32))
    top, ids, matrix = _VECTORS.get(key, empty)
    highest = await fetch_rows(
        source, "SELECT max(attempt_id) FROM fix_attempt_vectors WHERE model = ?", (model.name,)
    )
    if (highest[0][0] or 0) < top:  # another database at that path since: read it again
        top, ids, matrix = empty
    stored = await fetch_rows(
        source,
        "SELECT attempt_id, vector FROM fix_attempt_vectors WHERE model = ? AND attempt_id > ? "
        "ORDER BY attempt_id",
        (model.name, top),
    )
    if stored:
        ids = [*ids, *(r["attempt_id"] for r in stored)]
        matrix = np.vstack([matrix, from_blob(b"".join(r["vector"] for r in stored), model.dim)])
        top = ids[-1]
    _VECTORS[key] = (top, ids, matrix)  # what the store holds
    missing = await fetch_rows(
        source,
        "SELECT id, message, summary, failure_detail FROM fix_attempts WHERE id > ? ORDER BY id",
        (top,),
    )
    if missing:
        fresh = model.embed([_attempt_text(r) for r in missing])
        ids = [*ids, *(r["id"] for r in missing)]
        matrix = np.vstack([matrix, fresh])
        if not (isinstance(source, Store) and source.read_only):
            await _keep_vectors(
                source,
                [(r["id"], model.name, to_blob(fresh[i : i + 1])) for i, r in enumerate(missing)],
            )
            _VECTORS[key] = (ids[-1], ids, matrix)
    if not ids:
        return []
    scores = matrix @ model.embed([task.message])[0]
    best = [ids[i] for i in np.argsort(-scores, kind="stable")[:count]]
    placeholders = ", ".join("?" * len(best))
    rows_by_id = {
        r["id"]: Attempt(**dict(r))
        for r in await fetch_rows(
            source, f"SELECT {ATTEMPT_COLUMNS} FROM fix_attempts WHERE id IN ({placeholders})", best
        )
    }
    return [rows_by_id[i] for i in best if i in rows_by_id]


async def _keep_vectors(source: Store | aiosqlite.Connection, rows: list[tuple[Any, ...]]) -> None:
    sql = "INSERT OR REPLACE INTO fix_attempt_vectors (attempt_id, model, vector) VALUES (?, ?, ?)"
    if isinstance(source, Store):
        async with source.transaction() as conn:
            await conn.executemany(sql, rows)
    else:
        await source.executemany(sql, rows)
