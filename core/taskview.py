"""How the Queue pane orders and groups the tasks it lists: a sort column, a grouping, folded
groups, muted rules and paths, and baseline tasks after the work of new commits.

``TaskView`` turns into SQL (an ``ORDER BY`` and extra ``WHERE`` clauses) for ``TaskQueue.list``
and ``count``; the names are a closed set, so no text of the operator reaches the SQL unbound.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from controlroom.core.convergence import severity_base
from controlroom.core.model import Severity, TaskState
from controlroom.core.taskfilter import expand_saved
from controlroom.core.taskfilter import parse as parse_filter

# name -> ORDER BY (after the grouping and the baseline split); each ends on a unique key.
SORTS: dict[str, str] = {
    "priority": "priority DESC, confidence DESC, id",
    "severity": "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 "
    "WHEN 'low' THEN 3 ELSE 4 END, priority DESC, id",
    "file": "path, line, id",
    "rule": "rule, priority DESC, id",
    "age": "created_at DESC, id DESC",
    "state": "state, priority DESC, id",
    "confidence": "confidence DESC, priority DESC, id",
}
# grouping name -> the tasks column it groups by
GROUPS: dict[str, str] = {
    "file": "path",
    "rule": "rule",
    "agent": "agents",
    "commit": "last_seen_commit",
}
_BASELINE = "(id IN (SELECT task_id FROM baseline_tasks))"


def next_name(names: list[str], current: str | None) -> str | None:
    """The name after ``current`` in ``names``, wrapping to None (for a cycling key)."""
    cycle: list[str | None] = [None, *names]
    return cycle[(cycle.index(current) + 1) % len(cycle)]


@dataclass(frozen=True, slots=True)
class TaskView:
    sort: str = "priority"
    group: str | None = None  # a key of GROUPS
    collapsed: frozenset[str] = field(default_factory=frozenset)  # folded group values
    muted_rules: tuple[str, ...] = ()  # hidden rules (core/mutes.py)
    muted_paths: tuple[str, ...] = ()  # hidden path prefixes
    baseline_last: bool = False  # baseline tasks after every other task (a baseline exists)
    baseline_only: bool = False  # only the baseline's tasks (to count them)
    # Tasks below this severity are below the fold ("nitpicks"): not listed until asked for.
    min_severity: str | None = None
    # With a fold, a task learning demoted below the fold's lowest priority (its severity's base
    # priority, docs/learning.md) is below it too: "hidden by learning". Never a critical.
    learning_fold: bool = True

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"unknown sort {self.sort!r}: one of {', '.join(SORTS)}")
        if self.group is not None and self.group not in GROUPS:
            raise ValueError(f"unknown grouping {self.group!r}: one of {', '.join(GROUPS)}")

    @property
    def group_column(self) -> str | None:
        return GROUPS[self.group] if self.group else None

    def order_by(self) -> str:
        keys = []
        if self.baseline_last:
            keys.append(_BASELINE)
        if self.group_column:
            keys.append(self.group_column)
        keys.append(SORTS[self.sort])
        return ", ".join(keys)

    def where(self) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.muted_rules:
            clauses.append(f"rule NOT IN ({', '.join('?' * len(self.muted_rules))})")
            params.extend(self.muted_rules)
        for prefix in self.muted_paths:  # values bound, no subquery per row
            clauses.append("substr(path, 1, ?) != ?")
            params.extend((len(prefix), prefix))
        if self.min_severity is not None:
            floor = Severity.parse(self.min_severity)
            shown = [s.value for s in Severity if s.rank >= floor.rank]
            clauses.append(f"severity IN ({', '.join('?' * len(shown))})")
            params.extend(shown)
            if self.learning_fold:
                clauses.append("(severity = ? OR priority >= ?)")
                params.extend((Severity.CRITICAL.value, severity_base(floor)))
        if self.baseline_only:
            clauses.append(_BASELINE)
        if self.group_column and self.collapsed:
            values = sorted(self.collapsed)
            clauses.append(f"{self.group_column} NOT IN ({', '.join('?' * len(values))})")
            params.extend(values)
        return clauses, params

    def toggled(self, value: str) -> TaskView:
        """This view with the group ``value`` folded (or unfolded)."""
        return replace(self, collapsed=self.collapsed ^ {value})


async def group_counts(
    store: Any,
    values: Sequence[str],
    *,
    states: Sequence[TaskState | str] | None,
    search: str | None,
    view: TaskView,
) -> dict[str, int]:
    """How many listed tasks each of the groups ``values`` holds (folded groups too)."""
    column = view.group_column
    if column is None or not values:
        return {}
    clauses, params = parse_filter(search).where(states or None)
    unfolded = replace(view, collapsed=frozenset(), baseline_last=False, baseline_only=False)
    more, extra = unfolded.where()
    clauses = [*clauses, *more, f"{column} IN ({', '.join('?' * len(values))})"]
    rows = await store.fetchall(
        f"SELECT {column} AS value, count(*) AS n FROM tasks WHERE {' AND '.join(clauses)} "
        f"GROUP BY {column}",
        [*params, *extra, *values],
    )
    return {row["value"]: row["n"] for row in rows}


_SEVERITY_TERM = re.compile(r"(?:^|\s)-?(?:sev|severity):", re.IGNORECASE)


def severity_floor(config: Any, search: str | None = None, *, show_all: bool = False) -> str | None:
    """The severity below which tasks stay below the fold (``[queue] min_severity``), or None when
    everything is listed: asked for (``show_all``), a filter that names a severity, or ``info``."""
    with contextlib.suppress(ValueError):  # the listing itself names an unknown saved filter
        search = expand_saved(search, config.get("queue.filters"))
    if show_all or (search and _SEVERITY_TERM.search(search)):
        return None
    floor = str(config.get("queue.min_severity"))
    return None if floor == Severity.INFO.value else floor
