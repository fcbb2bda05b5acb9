"""Semantic mode of history search (``controlroom history search --semantic``, ``s`` in the app):
documents ranked by the cosine of their sentence embedding with the query's (core/embeddings.py)
instead of BM25 over shared words, so "cannot import the parser" finds "ModuleNotFoundError".

Vectors are computed when a semantic search first needs them, then kept: each search embeds only
the documents indexed since the last one (a watermark) and those of blocks a re-analysis dropped
(gaps, migration 0016). A read-only store keeps nothing: what it lacks is embedded for the search.
"""

from __future__ import annotations

import itertools
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


async def _uncovered(conn: aiosqlite.Connection, model: str) -> tuple[list[Any], list[int]]:
    """The documents without a stored vector of ``model``, and the gaps (rowids) they cover."""
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
        await (
            await conn.execute("SELECT rowid, first_doc, last_doc FROM history_vector_gaps")
        ).fetchall()
    )
    where = " OR ".join(["id > ?", *("id BETWEEN ? AND ?" for _ in gaps)])
    params = [mark, *(bound for gap in gaps for bound in gap[1:])]
    rows = list(await (await conn.execute(f"{_DOCS} WHERE {where} ORDER BY id", params)).fetchall())
    return rows, [gap[0] for gap in gaps]


async def catch_up(
    store: Store, model: Embedder, notice: Callable[[int], None] | None = None
) -> int:
    """Embed and store the documents without a vector; ``notice`` hears how many first when they
    are more than a block (a first search over a long history: seconds).

    Embedding happens outside any transaction; each block is written in its own short one (the
    analysis of new commits is never held up), keeping only the documents still there as they
    were. A crash part-way leaves blocks that the next catch-up may write again: the search keeps
    one vector per document."""
    import numpy as np

    async with store.transaction() as conn:
        rows, gaps = await _uncovered(conn, model.name)
    if notice is not None and len(rows) > BLOCK:
        notice(len(rows))
    kept = 0
    for start in range(0, len(rows), BLOCK):
        chunk = rows[start : start + BLOCK]
        vectors = model.embed([_text(r) for r in chunk])
        async with store.transaction() as conn:
            ids = [r["id"] for r in chunk]
            cursor = await conn.execute(
                f"SELECT id, title FROM history_docs WHERE id IN ({', '.join('?' * len(ids))})",
                ids,
            )
            now = {r["id"]: r["title"] for r in await cursor.fetchall()}
            alive = [i for i, r in enumerate(chunk) if now.get(r["id"]) == r["title"]]
            if alive:
                await conn.execute(
                    "INSERT INTO history_vector_blocks (model, first_doc, last_doc, doc_ids, "
                    "kinds, vectors) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        model.name, chunk[alive[0]]["id"], chunk[alive[-1]]["id"],
                        np.array([ids[i] for i in alive], dtype=np.int64).tobytes(),
                        bytes(KINDS.index(chunk[i]["kind"]) for i in alive),
                        to_blob(vectors[alive]),
                    ),
                )  # fmt: skip
            await conn.execute(
                "INSERT INTO history_state (key, value) VALUES ('vectors', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                (chunk[-1]["id"],),
            )
        kept += len(alive)
    if gaps:
        async with store.transaction() as conn:
            await conn.execute(
                f"DELETE FROM history_vector_gaps WHERE rowid IN ({', '.join('?' * len(gaps))})",
                gaps,
            )
    return kept


# database -> (the block ids read, their document ids, kind codes and vectors, deduplicated):
# the app's history screen searches again and again; blocks only come and go as a whole.
_LOADED: dict[str, tuple[tuple[int, ...], Any, Any, Any]] = {}


async def _stored(store: Store, model: Embedder) -> tuple[Any, Any, Any]:
    """(document ids, kind codes, unit vectors) of the stored blocks, one vector per document."""
    import numpy as np

    block_ids = tuple(
        r["id"]
        for r in await store.fetchall(
            "SELECT id FROM history_vector_blocks WHERE model = ? ORDER BY id", (model.name,)
        )
    )
    cached = _LOADED.get(str(store.path))
    if cached is not None and cached[0] == block_ids:
        return cached[1:]
    blocks = await store.fetchall(
        "SELECT first_doc, last_doc, doc_ids, kinds, vectors FROM history_vector_blocks "
        "WHERE model = ? ORDER BY id",
        (model.name,),
    )
    if not blocks:
        return np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros((0, model.dim), np.float32)
    every = np.frombuffer(b"".join(b["doc_ids"] for b in blocks), dtype=np.int64)
    kinds = np.frombuffer(b"".join(b["kinds"] for b in blocks), dtype=np.uint8)
    matrix = from_blob(b"".join(b["vectors"] for b in blocks), model.dim)
    ranges = sorted((b["first_doc"], b["last_doc"]) for b in blocks)
    if any(later[0] <= earlier[1] for earlier, later in itertools.pairwise(ranges)):
        _, last = np.unique(every[::-1], return_index=True)  # one vector per document: the newest
        keep = np.sort(len(every) - 1 - last)
        every, kinds, matrix = every[keep], kinds[keep], matrix[keep]
    _LOADED[str(store.path)] = (block_ids, every, kinds, matrix)
    return every, kinds, matrix


async def _vectors(store: Store, model: Embedder) -> tuple[Any, Any, Any]:
    """(document ids, kind codes, unit vectors) of every document, stored or embedded now."""
    import numpy as np

    ids, kinds, matrix = await _stored(store, model)
    if store.read_only:  # nothing can be stored: embed what the blocks lack for this search
        covered = set(ids.tolist())
        rows = [r for r in await store.fetchall(_DOCS) if r["id"] not in covered]
        if rows:
            ids = np.concatenate([ids, np.array([r["id"] for r in rows], dtype=np.int64)])
            codes = np.array([KINDS.index(r["kind"]) for r in rows], dtype=np.uint8)
            kinds = np.concatenate([kinds, codes])
            matrix = np.vstack([matrix, model.embed([_text(r) for r in rows])])
    return ids, kinds, matrix


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
        await catch_up(store, model, notice)
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
