"""Outcome signals: a fix made by ``apply`` that a later commit undoes counts against its strategy.

Checked on every analyzed commit (core/pipeline.py, in the results' transaction), from the change
set alone: a commit whose subject is git's ``Revert "controlroom: ... (task N)"``, or one that
restores the lines a fix changed (the fix's added lines were in the file before the commit and
are gone after it, its removed lines are back). The attempt is marked reverted
(``fix_attempts.reverted_at``) and an event ``task.fix_reverted`` is written.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aiosqlite

from controlroom.core.model import ChangeSet

_REVERT_SUBJECT = re.compile(r'^Revert "controlroom: .*\(task (\d+)\)"')


async def notice_reverts(conn: aiosqlite.Connection, change: ChangeSet, now: float) -> list[int]:
    """Mark the applied fixes ``change`` reverts; returns the attempts' ids."""
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
    texts = {f.path: f for f in change.files if f.skipped_reason is None}
    if texts:
        marks = ", ".join("?" * len(texts))
        cursor = await conn.execute(
            "SELECT id, fix_commit, changes_json FROM fix_attempts WHERE outcome = 'applied' "
            "AND reverted_at IS NULL AND EXISTS (SELECT 1 FROM json_each(changes_json) "
            f"WHERE json_extract(value, '$.path') IN ({marks}))",
            tuple(texts),
        )
        for row in await cursor.fetchall():
            if row["id"] in reverted or row["fix_commit"] == change.commit:
                continue
            for item in json.loads(row["changes_json"]):
                changed = texts.get(item["path"])
                if changed is not None and restores(item, changed.old_text, changed.new_text):
                    reverted[row["id"]] = f"the fix's lines in {item['path']} were restored"
                    break
    for attempt_id, reason in reverted.items():
        await conn.execute(
            "UPDATE fix_attempts SET reverted_at = ?, reverted_by = ?, revert_reason = ? "
            "WHERE id = ?",
            (now, change.commit, reason, attempt_id),
        )
        await conn.execute(
            "INSERT INTO events (at, kind, payload_json) VALUES (?, 'task.fix_reverted', ?)",
            (now, json.dumps({"attempt": attempt_id, "commit": change.commit, "reason": reason})),
        )
    return sorted(reverted)


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
