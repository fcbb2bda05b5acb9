"""The commit-history index kept by the ``history_index`` hobby: messages and changed paths."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from controlroom.core.store import Store
from controlroom.core.subagents.sql import all_rows


@dataclass(frozen=True, slots=True)
class IndexedCommit:
    sha: str
    committed_at: float
    author: str
    subject: str
    paths: tuple[str, ...]


async def write_index(store: Store, commits: Iterable[IndexedCommit]) -> int:
    """Insert or refresh commits in the index; returns how many rows were written."""
    rows = [(c.sha, c.committed_at, c.author, c.subject, "\n".join(c.paths)) for c in commits]
    if rows:
        await store.executemany(
            "INSERT INTO history_index (sha, committed_at, author, subject, paths)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (sha) DO UPDATE SET subject = excluded.subject,"
            " paths = excluded.paths",
            rows,
        )
    return len(rows)


async def search_history(store: Store, text: str, *, limit: int = 50) -> list[IndexedCommit]:
    """Commits whose subject, author or a changed path contains ``text`` (case-insensitive)."""
    pattern = f"%{text.replace('%', '').replace('_', '')}%"
    rows = await all_rows(
        store.conn,
        "SELECT * FROM history_index WHERE subject LIKE ? OR paths LIKE ? OR author LIKE ?"
        " ORDER BY committed_at DESC LIMIT ?",
        (pattern, pattern, pattern, limit),
    )
    return [
        IndexedCommit(
            r["sha"], r["committed_at"], r["author"], r["subject"],
            tuple(p for p in r["paths"].split("\n") if p),
        )
        for r in rows
    ]  # fmt: skip
