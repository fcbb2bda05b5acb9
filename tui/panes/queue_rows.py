"""How the Queue pane shows a task: its columns, the width left for the message, its cells, and
the filter language of ``/``."""

from __future__ import annotations

from rich.text import Text

from controlroom.core.model import Task, TaskState
from controlroom.tui.format import (
    age,
    agents_label,
    cell,
    left_truncate,
    severity_cell,
    visible,
)

DEFAULT_STATES = tuple(s for s in TaskState if s is not TaskState.RESOLVED)

# (key, label, fixed width or None for the flexible message column)
COLUMNS = (
    ("mark", " ", 1),
    ("severity", "Sev", 4),
    ("confidence", "Conf", 4),
    ("agents", "Agents", 7),
    ("where", "File:line", 18),
    ("rule", "Rule", 7),
    ("message", "Message", None),
    ("age", "Age", 3),
    ("state", "State", 8),
)
MIN_MESSAGE = 12


def message_width(table_width: int) -> int:
    """What the fixed columns leave to the message in a table ``table_width`` wide."""
    fixed = sum((w or 0) + 1 for _, _, w in COLUMNS)
    return max(MIN_MESSAGE, table_width - fixed - 3)


def task_cells(task: Task, *, marked: bool, width: int, now: float) -> list[Text | str]:
    """One row, in ``COLUMNS`` order; the message cut to ``width``. Repository text (path, rule,
    message, agents) is plain ``Text`` with control characters escaped, never markup."""
    return [
        "*" if marked else " ",
        severity_cell(task.severity),
        f"{task.confidence:.2f}",
        cell(agents_label(task.agents)),
        cell(left_truncate(visible(f"{task.path}:{task.line}", multiline=False), 18)),
        cell(task.rule, 7),
        cell(task.message, width),
        age(now, task.created_at),
        Text(task.state.value, style="bold" if task.state.is_open else "dim"),
    ]


def parse_filter(text: str) -> tuple[tuple[str, ...] | None, str | None]:
    """``"S307 state:pending,snoozed"`` -> (("pending", "snoozed"), "S307"); state:all -> None."""
    states: tuple[str, ...] | None = DEFAULT_STATES
    words = []
    for word in text.split():
        if word.lower().startswith("state:"):
            wanted = [s for s in word[6:].lower().split(",") if s]
            states = None if "all" in wanted else tuple(TaskState(s).value for s in wanted)
        else:
            words.append(word)
    return states, " ".join(words) or None
