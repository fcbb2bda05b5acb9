"""Outcome signals: what later commits did to the fixes ``apply`` made (docs/learning.md).

Checked on every analyzed commit (core/pipeline.py, in the results' transaction), from the change
set alone, for each applied attempt touching one of the commit's files:

- *landed*: the fix's added lines were not in the file before the commit and at least half of them
  are after it (the fix commit itself, a merge or cherry-pick of it, or a person's version of it).
  ``landed_share`` below 1 means a person edited the fix before it landed: a partial success.
- *reverted*: git's ``Revert "controlroom: ... (task N)"``, or a commit that restores the lines the
  fix changed (its added lines were there before and are gone after, its removed lines are back).
  It counts against the strategy.

Each writes its columns of ``fix_attempts`` and an event (``task.fix_landed``,
``task.fix_reverted``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import aiosqlite

from controlroom.core.model import ChangeSet, FileChange

_REVERT_SUBJECT = re.compile(r'^Revert "controlroom: .*\(task (\d+)\)"')
LANDED_MIN_SHARE = 0.5


async def notice_outcomes(conn: aiosqlite.Connection, change: ChangeSet, now: float) -> None:
    """Mark the applied fixes ``change`` lands or reverts."""
    texts = {f.path: f for f in change.files if f.skipped_reason is None}
    reverted: dict[int, str] = {}
    named = _REVERT_SUBJECT.match(change.subject)
    if named:
        cursor = await conn.execute(
            "SELECT max(id) AS id FROM fix_attempts WHERE task_id = ? AND outcome = 'applied' "
            "AND reverted_at IS NULL",
            (int(named.group(1)),),
        )
        row = await cursor.fetchone()
        if row and row["id"] is not None:
            reverted[row["id"]] = "a revert commit"
    landed: dict[int, float] = {}
    for row in await _touched(conn, texts):
        items = json.loads(row["changes_json"])
        if row["landed_by"] is None:
            share = landed_share(items, texts)
            if share is not None:
                landed[row["id"]] = share
                continue
        if row["id"] in reverted or row["fix_commit"] == change.commit:
            continue
        for item in items:
            changed = texts.get(item["path"])
            if changed is not None and restores(item, changed.old_text, changed.new_text):
                reverted[row["id"]] = f"the fix's lines in {item['path']} were restored"
                break
    for attempt_id, share in landed.items():
        await conn.execute(
            "UPDATE fix_attempts SET landed_by = ?, landed_share = ? WHERE id = ?",
            (change.commit, share, attempt_id),
        )
        await _event(conn, now, "task.fix_landed", attempt_id, change.commit, share=share)
    for attempt_id, reason in reverted.items():
        await conn.execute(
            "UPDATE fix_attempts SET reverted_at = ?, reverted_by = ?, revert_reason = ? "
            "WHERE id = ?",
            (now, change.commit, reason, attempt_id),
        )
        await _event(conn, now, "task.fix_reverted", attempt_id, change.commit, reason=reason)


async def _touched(conn: aiosqlite.Connection, texts: dict[str, FileChange]) -> list[Any]:
    """The applied, unreverted attempts that changed one of ``texts``' paths."""
    if not texts:
        return []
    marks = ", ".join("?" * len(texts))
    cursor = await conn.execute(
        "SELECT id, fix_commit, changes_json, landed_by FROM fix_attempts "
        "WHERE outcome = 'applied' AND reverted_at IS NULL AND EXISTS (SELECT 1 FROM "
        f"json_each(changes_json) WHERE json_extract(value, '$.path') IN ({marks}))",
        tuple(texts),
    )
    return list(await cursor.fetchall())


async def _event(
    conn: aiosqlite.Connection, now: float, kind: str, attempt: int, commit: str, **extra: Any
) -> None:
    payload = {"attempt": attempt, "commit": commit, **extra}
    await conn.execute(
        "INSERT INTO events (at, kind, payload_json) VALUES (?, ?, ?)",
        (now, kind, json.dumps(payload)),
    )


def landed_share(items: list[dict[str, Any]], texts: dict[str, FileChange]) -> float | None:
    """The share of the fix's added lines a commit brings in (None: it does not land the fix):
    none of them were there before, at least half are after."""
    added_total = kept = 0
    for item in items:
        added = set(item.get("added", ())) - set(item.get("removed", ()))
        changed = texts.get(item["path"])
        if not added:
            continue
        if changed is None:
            return None  # a file of the fix the commit does not touch: not this commit's landing
        if added & _lines(changed.old_text):
            return None
        added_total += len(added)
        kept += len(added & _lines(changed.new_text))
    if not added_total or kept / added_total < LANDED_MIN_SHARE:
        return None
    return round(kept / added_total, 3)


def restores(item: dict[str, Any], old_text: str | None, new_text: str | None) -> bool:
    """True when a commit taking a file from ``old_text`` to ``new_text`` undoes a fix that added
    ``item["added"]`` and removed ``item["removed"]`` lines there (stripped, non-blank)."""
    added = set(item.get("added", ())) - set(item.get("removed", ()))
    removed = set(item.get("removed", ())) - set(item.get("added", ()))
    if not added and not removed:
        return False
    before = _lines(old_text)
    after = _lines(new_text)
    if added:
        in_place = added <= before
        restored = not (added & after) and removed <= after
    else:
        in_place = not (removed & before)
        restored = removed <= after
    return in_place and restored


def _lines(text: str | None) -> set[str]:
    return {line.strip() for line in (text or "").splitlines() if line.strip()}
