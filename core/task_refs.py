"""What an analysis reports about the tasks it touched, and reading rows by fingerprint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiosqlite


@dataclass(frozen=True, slots=True)
class TaskRef:
    id: int
    fingerprint: str
    state: str
    severity: str
    rule: str
    path: str
    line: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "state": self.state,
            "severity": self.severity,
            "rule": self.rule,
            "path": self.path,
            "line": self.line,
        }


async def rows_by_fingerprint(
    conn: aiosqlite.Connection, columns: str, table: str, fingerprints: list[str]
) -> list[aiosqlite.Row]:
    """Rows of ``table`` whose fingerprint is one of ``fingerprints`` (chunks of 500, by id)."""
    rows: list[aiosqlite.Row] = []
    for at in range(0, len(fingerprints), 500):
        chunk = fingerprints[at : at + 500]
        marks = ", ".join("?" * len(chunk))
        cursor = await conn.execute(
            f"SELECT {columns} FROM {table} WHERE fingerprint IN ({marks}) ORDER BY id", chunk
        )
        rows.extend(await cursor.fetchall())
    return rows
