"""Semantic mode of history search (``controlroom history search --semantic``, ``s`` in the app):
documents ranked by the cosine of their sentence embedding with the query's (core/embeddings.py)
instead of BM25 over shared words, so "cannot import the parser" finds "ModuleNotFoundError".

Vectors are computed when a semantic search first needs them, then kept: each search embeds only
the documents indexed since the last one (a watermark) and those of blocks a re-analysis dropped
(gaps, migration 0016). A read-only store keeps nothing: what it lacks is embedded for the search.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import aiosqlite

from controlroom.core.embeddings import Embedder, embedder, from_blob, to_blob
from controlroom.core.history_search import KINDS, Hit, index_decisions
from controlroom.core.store import Store

BLOCK = 4096  # documents per stored block (a dropped block is embedded again: bounded work)
MAX_SNIPPET = 200
_DOCS = "SELECT id, kind, title, path, body FROM history_docs"


def _text(row: Any) -> str:
    return f"{row['title']}\n{row['path']}\n{row['body']}"


async def _uncovered(conn: aiosqlite.Connection, model: str) -> tuple[list[Any], int]:
    """The documents without a stored vector of ``model``, and the watermark to store after."""
    other = await (
        await conn.execute("SELECT count(*) FROM history_vector_blocks WHERE model != ?", (model,))
    ).fetchone()
    if other and other[0]:  # another model's vectors: start over
        await conn.execute("DELETE FROM history_vector_blocks")
        await conn.execute("DELETE FROM history_vector_gaps")
        await conn.execute("DELETE FROM history_state WHERE key = 'vectors'")
    row = await (
        await conn.execute("SELECT value FROM history_state WHERE key = 'vectors'")
    ).fetchone()
    mark = int(row[0]) if row else 0
    gaps = list(
        await (await conn.execute("SELECT first_doc, last_doc FROM history_vector_gaps")).fetchall()
    )
    where = " OR ".join(["id > ?", *("id BETWEEN ? AND ?" for _ in gaps)])
    params = [mark, *(bound for gap in gaps for bound in gap)]
    rows = list(await (await conn.execute(f"{_DOCS} WHERE {where} ORDER BY id", params)).fetchall())
    return rows, max([mark, *(r["id"] for r in rows)])


async def catch_up(
    conn: aiosqlite.Connection, model: Embedder, notice: Callable[[int], None] | None = None
) -> int:
    """Embed and store the documents without a vector (one transaction is the caller's);
    ``notice`` hears how many first when they are more than a block (a first search: seconds)."""
    import numpy as np

    rows, mark = await _uncovered(conn, model.name)
    if notice is not None and len(rows) > BLOCK:
        notice(len(rows))
    for start in range(0, len(rows), BLOCK):
        chunk = rows[start : start + BLOCK]
        vectors = model.embed([_text(r) for r in chunk])
        await conn.execute(
            "INSERT INTO history_vector_blocks (model, first_doc, last_doc, doc_ids, kinds, vectors) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                model.name, chunk[0]["id"], chunk[-1]["id"],
                np.array([r["id"] for r in chunk], dtype=np.int64).tobytes(),
                bytes(KINDS.index(r["kind"]) for r in chunk), to_blob(vectors),
            ),
        )  # fmt: skip
    await conn.execute("DELETE FROM history_vector_gaps")
    await conn.execute(
        "INSERT INTO history_state (key, value) VALUES ('vectors', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (mark,),
    )
    return len(rows)


async def _vectors(store: Store, model: Embedder) -> tuple[Any, Any, Any]:
    """(document ids, kind codes, unit vectors) of every document, stored or embedded now."""
    import numpy as np

    blocks = await store.fetchall(
        "SELECT doc_ids, kinds, vectors FROM history_vector_blocks WHERE model = ? ORDER BY id",
        (model.name,),
    )
    ids = [np.frombuffer(b["doc_ids"], dtype=np.int64) for b in blocks]
    kinds = [np.frombuffer(b["kinds"], dtype=np.uint8) for b in blocks]
    matrices = [from_blob(b["vectors"], model.dim) for b in blocks]
    if store.read_only:  # nothing can be stored: embed what the blocks lack for this search
        covered = set(np.concatenate(ids).tolist()) if ids else set()
        rows = [r for r in await store.fetchall(_DOCS) if r["id"] not in covered]
        if rows:
            ids.append(np.array([r["id"] for r in rows], dtype=np.int64))
            kinds.append(np.array([KINDS.index(r["kind"]) for r in rows], dtype=np.uint8))
            matrices.append(model.embed([_text(r) for r in rows]))
    if not ids:
        return np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros((0, model.dim), np.float32)
    return np.concatenate(ids), np.concatenate(kinds), np.vstack(matrices)


async def semantic_search(
    store: Store,
    query: str,
    *,
    limit: int = 20,
    kinds: Sequence[str] | None = None,
    notice: Callable[[int], None] | None = None,
) -> list[Hit]:
    """The ``limit`` documents closest in meaning to ``query`` (cosine > 0), best first."""
    import numpy as np

    model = embedder()
    if not store.read_only:
        async with store.transaction() as conn:
            await index_decisions(conn)
            await catch_up(conn, model, notice)
    ids, codes, matrix = await _vectors(store, model)
    if not len(ids):
        return []
    scores = matrix @ model.embed([query])[0]
    if kinds:
        scores = np.where(np.isin(codes, [KINDS.index(k) for k in kinds]), scores, -1.0)
    count = min(limit, len(scores))
    best = np.argpartition(-scores, count - 1)[:count]
    best = best[np.argsort(-scores[best], kind="stable")]
    chosen = [(int(ids[i]), float(scores[i])) for i in best if scores[i] > 0]
    if not chosen:
        return []
    rows = await store.fetchall(
        "SELECT id, kind, ref, commit_sha, path, line, at, title, body FROM history_docs "
        f"WHERE id IN ({', '.join('?' * len(chosen))})",
        [doc for doc, _ in chosen],
    )
    by_id = {r["id"]: r for r in rows}
    return [
        Hit(
            r["kind"], r["ref"], r["commit_sha"], r["path"], r["line"], r["at"], r["title"],
            " ".join(r["body"].split())[:MAX_SNIPPET], round(score, 3),
        )
        for doc, score in chosen
        if (r := by_id.get(doc)) is not None
    ]  # fmt: skip
