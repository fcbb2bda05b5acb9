"""History search: commits, their diff hunks, findings and decisions in one FTS5 index, ranked by
BM25 (``controlroom history search``, docs/learning.md).

Indexed incrementally: each analyzed commit adds its own documents in the analysis' transaction
(core/pipeline.py); decisions are caught up from the append-only log by a watermark before each
search. A hunk is a changed range's new-side lines (the change set's ``changed_lines``), capped.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import aiosqlite

from controlroom.core.model import ChangeSet, FileChange, FileStatus
from controlroom.core.store import Store

KINDS = ("commit", "hunk", "finding", "decision")
MAX_HUNK_CHARS = 4000
MAX_HUNKS_PER_COMMIT = 200
# BM25 column weights: title, path, body.
_WEIGHTS = "5.0, 3.0, 1.0"
_TERM = re.compile(r'[^\s"]+')
_INSERT = (  # replaced documents are deleted first: REPLACE would skip the FTS delete trigger
    "INSERT OR IGNORE INTO history_docs (kind, ref, commit_sha, path, line, at, title, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class Hit:
    kind: str
    ref: str
    commit: str | None
    path: str
    line: int | None
    at: float
    title: str
    snippet: str
    score: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def hunks_of(change: FileChange) -> list[tuple[int | None, str]]:
    """(first line, text) of each changed range on the new side; a deleted file is one entry."""
    if change.status is FileStatus.DELETED or change.new_text is None:
        return [(None, f"deleted {change.path}")]
    lines = change.new_text.splitlines()
    out: list[tuple[int | None, str]] = []
    for span in change.changed_lines:
        text = "\n".join(lines[span.start - 1 : span.end])
        out.append((span.start, text[:MAX_HUNK_CHARS]))
    return out


async def index_change(conn: aiosqlite.Connection, change: ChangeSet, now: float) -> None:
    """Index one analyzed commit: its subject, hunks and findings (again on re-analysis)."""
    hunks = itertools.islice(  # lazily: a root commit's "hunks" are its whole tree
        (
            (f.path, line, text)
            for f in change.files
            if f.skipped_reason is None
            for line, text in hunks_of(f)
        ),
        MAX_HUNKS_PER_COMMIT,
    )
    cursor = await conn.execute(
        "SELECT id, agent, rule, severity, path, line, symbol, message, snippet FROM findings "
        "WHERE commit_sha = ?",
        (change.commit,),
    )
    findings = [dict(row) for row in await cursor.fetchall()]
    await index_commit_docs(
        conn,
        sha=change.commit,
        subject=change.subject,
        author=change.author,
        at=change.committed_at or now,
        paths=[f.path for f in change.files],
        hunks=hunks,
        findings=findings,
    )


async def index_commit_docs(
    conn: aiosqlite.Connection,
    *,
    sha: str,
    subject: str,
    author: str,
    at: float,
    paths: Sequence[str],
    hunks: Iterable[tuple[str, int | None, str]],
    findings: Iterable[dict[str, Any]] = (),
) -> None:
    """Replace the documents of commit ``sha`` (one transaction is the caller's)."""
    await conn.execute(
        "DELETE FROM history_docs WHERE commit_sha = ? AND kind != 'decision'", (sha,)
    )
    rows: list[tuple[Any, ...]] = [
        ("commit", sha, sha, "", None, at, subject, f"{author}\n" + "\n".join(paths))
    ]
    for number, (path, line, text) in enumerate(hunks):
        if number >= MAX_HUNKS_PER_COMMIT:
            break
        title = f"{path}:{line}" if line else path
        rows.append(("hunk", f"{sha}:{number}", sha, path, line, at, title, text))
    for item in findings:
        body = "\n".join(str(item.get(k) or "") for k in ("agent", "symbol", "snippet"))
        title = f"{item['rule']} {item['severity']}: {item['message']}"
        rows.append(("finding", f"f{item['id']}", sha, item["path"], item["line"], at, title, body))
    await conn.executemany(_INSERT, rows)


async def index_decisions(conn: aiosqlite.Connection) -> int:
    """Index the decisions logged since the last call (a watermark); returns how many."""
    cursor = await conn.execute("SELECT value FROM history_state WHERE key = 'decisions'")
    row = await cursor.fetchone()
    mark = int(row["value"]) if row else 0
    cursor = await conn.execute(
        "SELECT d.id, d.at, d.from_state, d.to_state, d.actor, d.reason, t.id AS task_id, t.rule, t.path, "
        "t.line, t.message, t.last_seen_commit FROM decisions d JOIN tasks t ON t.id = d.task_id "
        "WHERE d.id > ? ORDER BY d.id",  # a task's creation ('new') is not a decision
        (mark,),
    )
    rows = list(await cursor.fetchall())
    if not rows:
        return 0
    await conn.executemany(
        _INSERT,
        [
            (
                "decision", f"d{r['id']}", r["last_seen_commit"], r["path"], r["line"], r["at"],
                f"{r['to_state']} task {r['task_id']}: {r['rule']} {r['message']}",
                f"{r['actor']}\n{r['reason'] or ''}",
            )
            for r in rows
            if r["from_state"] != "new"
        ],
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO history_state (key, value) VALUES ('decisions', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (rows[-1]["id"],),
    )
    return len(rows)


def fts_query(text: str, *, any_term: bool = False) -> str:
    """The user's words as FTS5 phrases (so ``get_user`` or ``a.b`` are matched as written),
    all required, or any with ``any_term``."""
    terms = [f'"{t}"' for t in _TERM.findall(text)]
    return (" OR " if any_term else " ").join(terms)


async def search(
    store: Store, query: str, *, limit: int = 20, kinds: Sequence[str] | None = None
) -> list[Hit]:
    """The best ``limit`` documents for ``query``: every word matched, else any (BM25)."""
    if not store.read_only:
        async with store.transaction() as conn:
            await index_decisions(conn)
    hits = await _search(store, fts_query(query), limit, kinds)
    if not hits and len(_TERM.findall(query)) > 1:
        hits = await _search(store, fts_query(query, any_term=True), limit, kinds)
    return hits


async def _search(store: Store, match: str, limit: int, kinds: Sequence[str] | None) -> list[Hit]:
    if not match:
        return []
    where = ""
    params: list[Any] = [match]
    if kinds:
        where = f" AND d.kind IN ({', '.join('?' * len(kinds))})"
        params.extend(kinds)
    rows = await store.fetchall(
        "SELECT d.kind, d.ref, d.commit_sha, d.path, d.line, d.at, d.title, "
        "snippet(history_fts, 2, '[', ']', '...', 12) AS snippet, "
        f"bm25(history_fts, {_WEIGHTS}) AS score "
        "FROM history_fts JOIN history_docs d ON d.id = history_fts.rowid "
        f"WHERE history_fts MATCH ?{where} ORDER BY score LIMIT ?",
        (*params, limit),
    )
    return [
        Hit(
            r["kind"], r["ref"], r["commit_sha"], r["path"], r["line"], r["at"], r["title"],
            " ".join((r["snippet"] or "").split()), round(-r["score"], 3),
        )
        for r in rows
    ]  # fmt: skip


async def indexed_counts(store: Store) -> dict[str, int]:
    rows = await store.fetchall("SELECT kind, count(*) AS n FROM history_docs GROUP BY kind")
    return {kind: 0 for kind in KINDS} | {r["kind"]: r["n"] for r in rows}
