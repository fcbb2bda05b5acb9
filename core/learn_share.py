"""Sharing what was learned between repositories (``controlroom learn export`` / ``import``).

An export holds this store's own learning events (rule, directory, test code or not, vote, time)
and its fix strategies' records per rule. Directories are replaced by salted hashes unless
``with_paths``: the salt travels in the file, so an importer recognises the directories it has
too (it hashes its own with that salt) and learns nothing about the others. Importing merges: the
events are added with their origin (``learning_imports``), half-life and scopes apply as for
local ones, and the strategies' records add to the local ones. One file is imported once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

from controlroom.core.config import Config
from controlroom.core.errors import UsageError
from controlroom.core.learning import SYMBOL_KINDS, rerank_rules, scope_of
from controlroom.core.store import Store

FORMAT = "controlroom-learning"
VERSION = 1
HASHED = "h:"  # the prefix of a hashed directory


def hash_dir(folder: str, salt: str) -> str:
    return HASHED + hashlib.sha256(f"{salt}\0{folder}".encode()).hexdigest()[:20]


async def export_learning(
    store: Store, *, with_paths: bool = False, source: str = "", now: float | None = None
) -> dict[str, Any]:
    """The export document of this store's own learning (not what it imported)."""
    salt = "" if with_paths else secrets.token_hex(16)
    rows = await store.fetchall(
        "SELECT at, rule, dir, test, vote, kind FROM learning_events WHERE origin IS NULL "
        "ORDER BY id"
    )
    events = [
        {
            "at": r["at"],
            "rule": r["rule"],
            "dir": r["dir"] if with_paths else hash_dir(r["dir"], salt),
            "test": bool(r["test"]),
            "vote": r["vote"],
            "kind": r["kind"],
        }
        for r in rows
    ]
    strategies = await store.fetchall(
        "SELECT kind, rule, strategy, count(*) AS attempts, "
        "sum(outcome = 'applied') AS successes, "
        "sum(outcome = 'applied' AND reverted_at IS NOT NULL) AS reverts, "
        "coalesce(sum(outcome = 'applied' AND reverted_at IS NULL AND landed_share < 1), 0) "
        "AS edited, "
        "json_group_array(failure) AS failures FROM fix_attempts "
        "GROUP BY kind, rule, strategy ORDER BY rule, strategy"
    )
    return {
        "format": FORMAT,
        "version": VERSION,
        "export_id": uuid.uuid4().hex,
        "source": source,
        "exported_at": time.time() if now is None else now,
        "paths": "plain" if with_paths else "hashed",
        "salt": salt,
        "events": events,
        "strategies": [
            {
                "kind": r["kind"], "rule": r["rule"], "strategy": r["strategy"],
                "attempts": r["attempts"], "successes": r["successes"], "reverts": r["reverts"],
                "edited": r["edited"],
                "failures": _count(json.loads(r["failures"])),
            }
            for r in strategies
        ],
    }  # fmt: skip


def _count(values: list[str | None]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        if value:
            counts[value] = counts.get(value, 0) + 1
    return counts


def write_export(document: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def read_export(path: Path) -> dict[str, Any]:
    """The document in ``path``; UsageError naming the file and what is wrong with it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise UsageError(f"{path}: not a controlroom learning export (format is not {FORMAT!r})")
    if document.get("version") != VERSION:
        raise UsageError(f"{path}: export version {document.get('version')!r}, expected {VERSION}")
    for key, kind in (("export_id", str), ("events", list), ("strategies", list)):
        if not isinstance(document.get(key), kind):
            raise UsageError(f"{path}: {key!r} is missing or not a {kind.__name__}")
    return document


async def local_dirs(store: Store) -> set[str]:
    """The directories this store knows (of its tasks and its own learning events)."""
    rows = await store.fetchall("SELECT DISTINCT path FROM tasks")
    folders = {scope_of(r["path"])[0] for r in rows}
    rows = await store.fetchall("SELECT DISTINCT dir FROM learning_events WHERE origin IS NULL")
    return folders | {r["dir"] for r in rows}


async def import_learning(
    store: Store,
    document: dict[str, Any],
    *,
    file: str,
    config: Config | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Merge ``document``; returns what was added (``already`` when it was imported before)."""
    at = time.time() if now is None else now
    previous = await store.fetchone(
        "SELECT id, at, file FROM learning_imports WHERE export_id = ?", (document["export_id"],)
    )
    if previous is not None:
        return {"already": True, "import_id": previous["id"], "file": previous["file"]}
    hashed = document.get("paths") == "hashed"
    mapping = {}
    if hashed:
        salt = str(document.get("salt", ""))
        mapping = {hash_dir(folder, salt): folder for folder in await local_dirs(store)}
    try:
        events = [
            (
                float(e["at"]), str(e["rule"]), mapping.get(str(e["dir"]), str(e["dir"])),
                int(bool(e["test"])), int(e["vote"]),
                str(e["kind"]) if e.get("kind") in SYMBOL_KINDS else None,
            )
            for e in document["events"]
            if int(e["vote"]) in (-1, 1)
        ]  # fmt: skip
        strategies = [
            (
                str(s["kind"]), str(s["rule"]), str(s["strategy"]), int(s["attempts"]),
                int(s["successes"]), int(s["reverts"]), int(s.get("edited", 0)),
                json.dumps(dict(s.get("failures", {}))),
            )
            for s in document["strategies"]
        ]  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{file}: a malformed event or strategy record ({exc})") from exc
    source = str(document.get("source") or "another repository")
    async with store.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO learning_imports (at, export_id, source, file, hashed, events, "
            "strategies) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (at, document["export_id"], source, file, int(hashed), len(events), len(strategies)),
        )
        import_id = int(cursor.lastrowid or 0)
        await conn.executemany(
            "INSERT INTO learning_events (at, task_id, rule, agents, dir, test, vote, kind, "
            "origin) VALUES (?, 0, ?, '', ?, ?, ?, ?, ?)",
            [(*event, import_id) for event in events],
        )
        await conn.executemany(
            "INSERT INTO strategy_imports (import_id, kind, rule, strategy, attempts, successes, "
            "reverts, edited, failures_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(import_id, *row) for row in strategies],
        )
        await rerank_rules(conn, {e[1] for e in events}, config, now=at)
    matched = sum(1 for e in document["events"] if str(e.get("dir")) in mapping)
    return {
        "already": False,
        "import_id": import_id,
        "source": source,
        "events": len(events),
        "strategies": len(strategies),
        "hashed": hashed,
        "dirs_matched": matched if hashed else len(events),
    }
