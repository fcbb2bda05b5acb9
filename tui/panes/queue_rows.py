"""How the Queue pane shows a task: its columns, their widths at a given table width, its cells.
(The filter language of ``/`` is ``core.taskfilter``.)"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.text import Text

from controlroom.core.model import Task, TaskState
from controlroom.tui.format import (
    age,
    agents_label,
    cell,
    middle_path,
    severity_cell,
    visible,
)

DEFAULT_STATES = tuple(s for s in TaskState if s is not TaskState.RESOLVED)

# (key, label, fixed width or None for a column sized by ``layout``)
COLUMNS = (
    ("mark", " ", 1),
    ("severity", "Sev", 4),
    ("confidence", "Conf", 4),
    ("agents", "Agents", None),
    ("where", "File:line", None),
    ("rule", "Rule", 7),
    ("message", "Message", None),
    ("age", "Age", 3),
    ("state", "State", 8),
)
MIN_MESSAGE = 12
MIN_AGENTS, MAX_AGENTS = 8, 20  # "critic+1" at least; "critic,tests,docs" when there is room
MIN_WHERE, MAX_WHERE = 18, 60  # 18: src/…/module.py:42
SCROLLBAR = 2  # the vertical scrollbar
# Below this width the confidence and age columns give their room to the message (the details
# screen shows both): at 80 columns the message gets 28 characters instead of 16.
NARROW = 110
NARROW_HIDDEN = frozenset({"confidence", "age"})


@dataclass(frozen=True, slots=True)
class Layout:
    """The widths of the flexible columns for one table width."""

    agents: int
    where: int
    message: int
    hidden: frozenset[str] = frozenset()

    def width(self, key: str) -> int:
        fixed = dict((k, w) for k, _, w in COLUMNS if w)
        return fixed.get(key) or getattr(self, key)

    @property
    def columns(self) -> tuple[tuple[str, str, int | None], ...]:
        """The columns shown at this width, in order."""
        return tuple(c for c in COLUMNS if c[0] not in self.hidden)

    def shown(self, cells: list[Text | str]) -> list[Text | str]:
        """The cells of the shown columns, from one cell per column of ``COLUMNS``."""
        return [c for (key, _, _), c in zip(COLUMNS, cells, strict=True) if key not in self.hidden]


def layout(table_width: int) -> Layout:
    """Share what the fixed columns leave: agents and file:line grow a little, the message gets
    the rest."""
    hidden = NARROW_HIDDEN if table_width < NARROW else frozenset()
    shown = [c for c in COLUMNS if c[0] not in hidden]
    fixed = sum((w or 0) + 1 for _, _, w in shown)  # each column has one cell of padding
    free = max(0, table_width - fixed - SCROLLBAR)
    agents = max(MIN_AGENTS, min(MAX_AGENTS, free // 8))
    where = max(MIN_WHERE, min(MAX_WHERE, free * 3 // 10))
    message = max(MIN_MESSAGE, free - agents - where)
    return Layout(agents, where, message, hidden)


def message_width(table_width: int) -> int:
    """What the other columns leave to the message in a table ``table_width`` wide."""
    return layout(table_width).message


def task_cells(task: Task, *, marked: bool, layout: Layout, now: float) -> list[Text | str]:
    """One row, in the order of ``layout.columns``, cut to ``layout``. Repository text (path, rule,
    message, agents) is plain ``Text`` with control characters escaped, never markup."""
    return layout.shown(
        [
            "*" if marked else " ",
            severity_cell(task.severity),
            f"{task.confidence:.2f}",
            cell(agents_label([visible(a, multiline=False) for a in task.agents], layout.agents)),
            cell(middle_path(visible(task.path, multiline=False), task.line, layout.where)),
            cell(task.rule, 7),
            cell(task.message, layout.message),
            age(now, task.created_at),
            Text(task.state.value, style="bold" if task.state.is_open else "dim"),
        ]
    )


_SHA = re.compile(r"[0-9a-f]{40}")
BASELINE_GROUP = "\0baseline"  # the section header of the whole-tree baseline's tasks


@dataclass(frozen=True, slots=True)
class GroupRow:
    """A group's header row: ``value`` is the file, rule or agents it groups by."""

    value: str
    count: int
    folded: bool
    baseline: bool = False  # the baseline section's own header
    section: str = ""  # "baseline" for a group inside the baseline section

    @property
    def key(self) -> str:
        return f"group:{'b' if self.baseline else ''}:{self.section}:{self.value}"


def row_key(row: Task | GroupRow) -> str:
    """The table's row key: the task's id, or the header's ``group:...``."""
    return row.key if isinstance(row, GroupRow) else str(row.id)


def group_value(task: Task, column: str) -> str:
    return ",".join(task.agents) if column == "agents" else str(getattr(task, column))


def group_cells(group: GroupRow, layout: Layout) -> list[Text | str]:
    """A header row: a fold sign (``-`` open, ``+`` folded: readable without colour) and one label
    running across the other columns (``src/…/module.py  12 tasks``), cut to fit."""
    widths = [layout.width(key) + 1 for key, _, _ in layout.columns[1:]]  # each cell and gap
    room = sum(widths) - 1
    if group.value == BASELINE_GROUP:
        sign, style = "=", "bold reverse"
        label = f"Baseline of the whole tree, after new work: {group.count:,} tasks"
    else:
        sign, style = ("+" if group.folded else "-"), "bold"
        count = f"  {group.count:,} task" + ("" if group.count == 1 else "s")
        count += " (folded)" if group.folded else ""
        value = visible(group.value, multiline=False) or "(none)"
        if _SHA.fullmatch(value):  # grouped by commit: the short sha, as git shows it
            value = f"commit {value[:10]}"
        width = max(8, room - len(count))
        if len(value) > width:
            value = middle_path(value, 0, width + 2).removesuffix(":0")
        label = value + count
    label = label[:room].ljust(room)
    cells: list[Text | str] = [sign]
    start = 0
    for width in widths:
        cells.append(Text(label[start : start + width], style=style, no_wrap=True))
        start += width
    return cells


def with_headers(
    tasks: list[Task],
    column: str | None,
    *,
    counts: dict[str, int],
    folded: frozenset[str],
    baseline_ids: set[int],
    baseline_count: int,
    at_start: bool,
    at_end: bool,
) -> list[Task | GroupRow]:
    """The window's rows with a header before each group (and folded groups' headers where they
    sort), and the baseline section's header before its first task."""
    rows: list[Task | GroupRow] = []
    previous: str | None = None
    in_baseline = False
    pending = sorted(folded) if column else []

    def flush(until: str | None) -> None:
        nonlocal pending
        keep = []
        for value in pending:
            if until is None or value < until:
                rows.append(GroupRow(value, counts.get(value, 0), folded=True))
            else:
                keep.append(value)
        pending = keep

    for index, task in enumerate(tasks):
        if task.id in baseline_ids and not in_baseline:
            if pending and (at_end or index):
                flush(None)
            in_baseline, previous = True, None
            rows.append(GroupRow(BASELINE_GROUP, baseline_count, folded=False, baseline=True))
        if column:
            value = group_value(task, column)
            if value != previous:
                if index == 0 and not at_start:  # earlier folded groups sat in earlier windows
                    pending = [v for v in pending if v >= value]
                if not in_baseline:
                    flush(value)
                section = "baseline" if in_baseline else ""
                rows.append(GroupRow(value, counts.get(value, 0), folded=False, section=section))
                previous = value
        rows.append(task)
    if at_end and not in_baseline and (at_start or tasks):
        flush(None)
    return rows
