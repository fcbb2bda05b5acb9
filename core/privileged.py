"""Privileged settings: what an untrusted repository config may not decide.

A repository under analysis is hostile input. Its config (``controlroom.toml`` or
``[tool.controlroom]``) may tune the analysis, but a setting that runs a command, opens a network
connection, reads a file outside the repository, decides where a secret (the API key) or money goes,
or loosens the sandbox takes effect only from the operator's own config, ``--config FILE``, or once
the operator trusted that exact repository config (``controlroom trust``).

:func:`split` takes a repository layer (already validated) and what the operator's layers give
(defaults + user config) and returns the layer without its privileged settings, plus a label for
each setting it dropped. A privileged key whose value changes nothing (equal to the operator's) or
only tightens a limit is kept: it is not a decision.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from controlroom.core.oneline import one_line

# Any value that differs from the operator's is privileged.
ANY_CHANGE: dict[str, str] = {
    "llm.base_url": "the address that receives the API key",
    "sla.webhook_url": "an address alerts are posted to",
    "apply.branch_prefix": "the branch approved fixes are committed on",
    "tests.python": "the interpreter the tests agent runs",
    "subagents.backend": "whether units go to workers over the network",
    "subagents.broker_url": "the broker units are sent to",
    "subagents.result_backend": "the server results come back through",
    "subagents.remote": "where a worker fetches commits from",
    "subagents.cache_dir": "where a worker keeps its clones",
}
# Booleans with a safe value: only the other value is privileged.
SAFE_VALUE: dict[str, bool] = {
    "llm.enabled": False,  # true would send code to the API against the operator's choice
    "budgets.hard_cap": True,
    "correlator.baseline_on_commit": False,  # the post-commit hook measures (and probes endpoints)
}
# Limits a repository may lower but not raise (sandbox limits, the budget's estimate).
TIGHTEN_ONLY: tuple[str, ...] = (
    "tests.timeout",
    "tests.memory_mb",
    "tests.max_file_mb",
    "tests.max_processes",
    "tests.concurrency",
    "budgets.chars_per_token",
)
# Spending caps where 0 means "no cap": a repository may add or lower a cap, never lift one.
CAPS: tuple[str, ...] = ("budgets.daily_usd", "budgets.monthly_usd")
# Paths: privileged when they point outside the repository.
PATHS: tuple[str, ...] = ("correlator.disk_path",)
# Tables whose every entry is privileged when it changes (network, money).
TABLES: dict[str, str] = {
    "correlator.endpoints": "HTTP requests",
    "llm.prices": "prices the budget is computed from",
    "budgets.agents": "per-agent spending caps",
}
# SLA check kinds that run a command, connect somewhere or run arbitrary SQL.
PRIVILEGED_KINDS = ("command", "http", "sql_age")
# SLA check fields naming a file or directory: privileged outside the repository.
CHECK_PATHS = ("path", "pidfile", "cwd", "database")


def split(
    layer: dict[str, Any], base: dict[str, Any], repo: Path | None
) -> tuple[dict[str, Any], list[str]]:
    """``layer`` without its privileged settings, and one label per dropped setting."""
    kept = copy.deepcopy(layer)
    ignored: list[str] = []
    root = _root(repo)

    def drop_if(dotted: str, privileged: Callable[[Any, Any], bool]) -> None:
        found, value = _lookup(kept, dotted)
        if found and privileged(value, _lookup(base, dotted)[1]):
            _delete(kept, dotted)
            ignored.append(dotted)

    for dotted in ANY_CHANGE:
        drop_if(dotted, lambda value, ours: value != ours)
    for dotted, safe in SAFE_VALUE.items():

        def unsafe(value: Any, ours: Any, _safe: Any = safe) -> bool:
            return bool(value != ours and value != _safe)

        drop_if(dotted, unsafe)
    for dotted in TIGHTEN_ONLY:
        drop_if(dotted, lambda value, ours: not _number(ours) or value > ours)
    for dotted in CAPS:
        drop_if(dotted, lambda value, ours: value <= 0 < ours or (0 < ours < value))
    for dotted in PATHS:
        drop_if(dotted, lambda value, ours: value != ours and not _inside(value, root))
    for dotted in TABLES:
        _split_table(kept, base, dotted, ignored, lambda value, ours: value != ours)
    _split_table(
        kept,
        base,
        "correlator.services",
        ignored,
        lambda value, ours: value != ours and _service_outside(value, root),
    )
    _split_checks(kept, base, root, ignored)
    return kept, [one_line(label) for label in ignored]


def _split_table(
    kept: dict[str, Any],
    base: dict[str, Any],
    dotted: str,
    ignored: list[str],
    privileged: Callable[[Any, Any], bool],
) -> None:
    found, table = _lookup(kept, dotted)
    if not found or not isinstance(table, dict):
        return
    ours = _lookup(base, dotted)[1]
    ours = ours if isinstance(ours, dict) else {}
    for key in list(table):
        if privileged(table[key], ours.get(key)):
            del table[key]
            ignored.append(f"{dotted}.{key}")


def _split_checks(
    kept: dict[str, Any], base: dict[str, Any], root: Path | None, ignored: list[str]
) -> None:
    found, checks = _lookup(kept, "sla.checks")
    if not found or not isinstance(checks, list):
        return
    ours = _lookup(base, "sla.checks")[1] or []
    allowed, dropped = [], set()
    for index, check in enumerate(checks):
        if check in ours or not check_is_privileged(check, root):
            allowed.append(check)
            continue
        dropped.add(check.get("name"))
        ignored.append(f"sla.checks[{index}] {check.get('kind')}")
    kept["sla"]["checks"] = allowed
    gate = kept["sla"].get("gate")
    if dropped and isinstance(gate, list):
        kept["sla"]["gate"] = [name for name in gate if name not in dropped]


def check_is_privileged(check: dict[str, Any], root: Path | None) -> bool:
    """A check that runs a command, connects, runs SQL, or reads a path outside the repository."""
    if check.get("kind") in PRIVILEGED_KINDS:
        return True
    return any(
        isinstance(check.get(key), str) and not _inside(check[key], root) for key in CHECK_PATHS
    )


def _service_outside(value: Any, root: Path | None) -> bool:
    text = str(value)
    return text.startswith("pidfile:") and not _inside(text[len("pidfile:") :], root)


def _root(repo: Path | None) -> Path | None:
    return repo.resolve() if repo is not None else None


def _inside(value: Any, root: Path | None) -> bool:
    """True when the path (or the fixed part of a glob) resolves inside the repository.

    Symbolic links in the fixed part are followed, so a committed link to ``/etc`` counts as
    outside. Without a repository nothing is inside.
    """
    if root is None or not isinstance(value, str):
        return False
    fixed = value
    for mark in "*?[":
        fixed = fixed.split(mark, 1)[0]
    if ".." in Path(value[len(fixed) :]).parts:  # a glob that climbs back out: not followed
        return False
    candidate = Path(fixed).expanduser()
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError):
        return False
    return resolved == root or resolved.is_relative_to(root)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _lookup(data: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _delete(data: dict[str, Any], dotted: str) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for part in parents:
        node = node[part]
    del node[leaf]
