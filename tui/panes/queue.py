"""The Queue pane: the proactivity queue in priority order, decided with one key per task.

The table holds a window of at most ``MAX_WINDOW`` tasks read in pages of ``PAGE`` from
``TaskQueue.list(offset, limit)``; moving near either edge slides the window, ``g``/``G`` jump to
either end. So the first paint costs one page whatever the size of the queue.
"""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, ProgressBar, Static

from controlroom.core.model import Task, TaskState
from controlroom.core.mutes import Mute, active_mutes
from controlroom.core.queue import TaskQueue
from controlroom.core.taskfilter import expand_saved
from controlroom.core.taskfilter import parse as parse_filter
from controlroom.core.taskview import TaskView, severity_floor
from controlroom.tui.actions import ACTIONS, Action, RegistryActions
from controlroom.tui.format import plain
from controlroom.tui.host import host
from controlroom.tui.panes.empty import EmptyState
from controlroom.tui.panes.queue_apply import QueueApplyActions
from controlroom.tui.panes.queue_baseline import QueueBaselineActions
from controlroom.tui.panes.queue_decide import QueueDecideActions
from controlroom.tui.panes.queue_rows import (
    DEFAULT_STATES,
    GroupRow,
    Layout,
    group_cells,
    layout,
    row_key,
    task_cells,
)
from controlroom.tui.panes.queue_view import QueueViewActions
from controlroom.tui.widgets import KeyTable

PAGE = 200
MAX_WINDOW = 3 * PAGE
EDGE = 10  # rows from the window's edge that trigger loading the next page

ACTIONS.title_scope("queue", "Queue pane")
ACTIONS.add(
    Action("queue.approve", "a", "approve", "Approve", scope="queue", mutates=True,
           help="Approve the task under the cursor"),
    Action("queue.reject", "r", "reject", "Reject", scope="queue", mutates=True,
           help="Reject the task, with an optional one-line reason"),
    Action("queue.undo", "u", "undo", "Undo", scope="queue", mutates=True,
           help="Undo your last decision"),
    Action("queue.snooze", "s", "snooze", "Snooze", scope="queue", mutates=True,
           help="Snooze the task for queue.snooze_hours"),
    Action("queue.mark", "space", "mark", "Mark", scope="queue", mutates=True, show=False,
           key_display="space", help="Mark or unmark the task for A/R"),
    Action("queue.approve_marked", "A", "approve_marked", "Approve *", scope="queue",
           mutates=True, help="Approve every marked task (shown while rows are marked)"),
    Action("queue.reject_marked", "R", "reject_marked", "Reject *", scope="queue",
           mutates=True, help="Reject every marked task, optional reason (shown while marked)"),
    Action("queue.apply", "x", "apply", "Apply", scope="queue", mutates=True,
           help="Carry out the approved task: fix, verify, commit on controlroom/task-<id>"),
    Action("queue.details", "enter", "details", "Details", scope="queue", show=False,
           help="Every agent's message, the code around the line, the fix"),
    Action("queue.filter", "slash", "filter", "Filter", scope="queue", key_display="/", show=False,
           help="Words, \"phrases\", rule: path: agent: sev:>=high state:, -negation"),
)  # fmt: skip


class QueuePane(
    QueueDecideActions,
    QueueBaselineActions,
    QueueApplyActions,
    QueueViewActions,
    RegistryActions,
    Vertical,
):
    ACTION_SCOPE = "queue"
    BINDINGS = ACTIONS.bindings("queue")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.filter_text = ""
        self.window_offset = 0
        self.total = 0
        self.tasks: list[Task] = []
        self.rows: list[Task | GroupRow] = []  # what the table shows: tasks and group headers
        self.marked: set[int] = set()
        self.view = TaskView()  # sort and grouping from [queue] on mount, mutes on each load
        self.baseline_ids: set[int] = set()
        self.mutes: list[Mute] = []
        self._last_mute: Mute | None = None
        self.show_nitpicks = False  # N: the tasks below [queue] min_severity too
        self.below_fold = 0  # open tasks the severity floor keeps out of the list
        self.hidden_by_learning = 0  # of them, those learning demoted below the fold
        self.baseline_state: str | None = None
        self._row_allows: tuple = ()
        self._layout: Layout = layout(0)
        self._sliding = False

    def compose(self) -> ComposeResult:
        table = KeyTable(id="queue-table", cursor_type="row", cell_padding=0)
        table.jump_handler = self.jump
        yield table
        yield EmptyState("", "", id="queue-empty", focusable=True)
        yield ProgressBar(id="queue-progress", show_eta=False)
        yield Static("", id="queue-status", markup=False)

    def on_mount(self) -> None:
        config = host(self).workspace.config
        group = str(config.get("queue.group"))
        self.view = replace(
            self.view,
            sort=str(config.get("queue.sort")),
            group=None if group == "none" else group,
        )
        self.query_one("#queue-empty").display = False
        self.query_one("#queue-progress").display = False
        self._build_columns(self.size.width)

    @property
    def queue(self) -> TaskQueue:
        return TaskQueue(host(self).store, host(self).workspace.config, clock=host(self).clock)

    @property
    def table(self) -> KeyTable:
        return self.query_one("#queue-table", KeyTable)

    # -- columns ---------------------------------------------------------------------------------
    def _build_columns(self, width: int) -> None:
        self._layout = layout(width)
        table = self.table
        table.clear(columns=True)
        for key, label, _ in self._layout.columns:
            table.add_column(label, key=key, width=self._layout.width(key) + 1)

    async def on_resize(self) -> None:
        if layout(self.size.width) != self._layout:
            row = self.table.cursor_row
            self._build_columns(self.size.width)
            if self.rows:
                self._fill(self.rows, cursor_row=row)

    def _cells(self, task: Task) -> list[Text | str]:
        marked = task.id in self.marked
        shown = task
        if self.view.group == "file":  # the header names the file: the row needs its name only
            shown = replace(task, path=task.path.rsplit("/", 1)[-1])
        return task_cells(shown, marked=marked, layout=self._layout, now=host(self).clock())

    def _fill(self, rows: list[Task | GroupRow], *, cursor_row: int) -> None:
        table = self.table
        table.clear()
        for row in rows:
            if isinstance(row, GroupRow):
                table.add_row(*group_cells(row, self._layout), key=row.key)
            else:
                table.add_row(*self._cells(row), key=str(row.id))
        self.rows = rows
        self.tasks = [r for r in rows if isinstance(r, Task)]
        if rows:
            table.move_cursor(row=min(max(cursor_row, 0), len(rows) - 1), animate=False)

    # -- loading ---------------------------------------------------------------------------------
    async def refresh_data(self) -> None:
        """Reload the window where it is, keeping the cursor on the same row when it is still there."""
        current = self.current_row()
        row = self.table.cursor_row
        await self._load(self.window_offset, max(len(self.tasks), PAGE), keep=current, row=row)

    async def _load(
        self, offset: int, size: int, *, keep: Task | GroupRow | None = None, row: int = 0
    ) -> None:
        states, search = DEFAULT_STATES, self.filter_text
        queue, store = self.queue, host(self).store
        has_baseline = await store.fetchval("SELECT 1 FROM baseline_tasks LIMIT 1") is not None
        self.mutes = await active_mutes(store)
        floor = severity_floor(self.app.workspace.config, search, show_all=self.show_nitpicks)
        view = self.view = replace(
            self.view,
            baseline_last=has_baseline,
            muted_rules=tuple(m.value for m in self.mutes if m.kind == "rule"),
            muted_paths=tuple(m.value for m in self.mutes if m.kind == "path"),
            min_severity=floor,
        )
        self.total, self.below_fold, self.hidden_by_learning = await queue.fold(
            states=states, search=search, view=view
        )
        offset = max(0, min(offset, max(0, self.total - size)))
        tasks = await queue.list(states=states, search=search, offset=offset, limit=size, view=view)
        self.window_offset = offset
        rows = await self._with_headers(tasks, offset, has_baseline)
        if keep is not None:
            row = next((i for i, r in enumerate(rows) if row_key(r) == row_key(keep)), row)
        self._fill(rows, cursor_row=row)
        self._show_empty(not rows)
        self.update_status()
        await self.check_baseline()

    def _show_empty(self, empty: bool) -> None:
        table, note = self.table, self.query_one("#queue-empty", EmptyState)
        had_focus = self.app.focused in (table, note)
        table.display = not empty
        note.display = empty
        if had_focus:
            (note if empty else table).focus()
        if not empty:
            return
        if self.filter_text:
            note.update("No task matches the filter", f"Filter: {self.filter_text}  (/ to change)")
        elif self.below_fold:
            note.update(
                f"Nothing at {self.view.min_severity} or above",
                f"{self.below_fold:,} lower-severity tasks (nitpicks) are below the fold"
                + (
                    f", {self.hidden_by_learning:,} of them hidden by learning"
                    if self.hidden_by_learning
                    else ""
                )
                + ": N shows them ([queue] min_severity sets the fold).",
            )
        else:
            offer = (
                " Press b to analyze the whole tree once (a baseline)."
                if self.baseline_state != "done"
                else ""
            )
            note.update(
                "No tasks yet",
                "Tasks appear here when a commit is analyzed: commit while controlroom runs, "
                "or run `controlroom --run-once` (another terminal or cron) on this repository."
                + offer,
            )

    def update_status(self) -> None:
        parts = []
        task = self.current_task()
        if task is not None:
            index = next(i for i, t in enumerate(self.tasks) if t is task)
            position = self.window_offset + index + 1
            parts.append(f"{position:,} of {self.total:,} tasks")
        else:
            parts.append(f"{self.total:,} tasks")
        if self.marked:
            parts.append(f"{len(self.marked)} marked")
        parts.extend(self.view_status())
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        if host(self).read_only:
            parts.append("read-only")
        self.query_one("#queue-status", Static).update(plain("  ".join(parts), multiline=False))

    async def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if self._sliding or event.data_table is not self.table:
            return
        row = self.table.cursor_row  # the event's row may be stale after a reload
        end = self.window_offset + len(self.tasks)
        if row >= len(self.rows) - EDGE and end < self.total:
            await self._slide(+1)
        elif row < EDGE and self.window_offset > 0 and row >= 0:
            await self._slide(-1)
        self.update_status()
        # The footer is redrawn only when what the row allows changes (a task, a header, an
        # approved task): moving from task to task keeps j at a few milliseconds.
        current = self.current_row()
        allows = (type(current), getattr(current, "state", None) is TaskState.APPROVED)
        if allows != self._row_allows:
            self._row_allows = allows
            self.refresh_bindings()

    async def _slide(self, direction: int) -> None:
        """Load the next (or previous) page, keeping at most MAX_WINDOW rows around the cursor."""
        self._sliding = True
        try:
            keep = self.current_row()
            size = min(MAX_WINDOW, len(self.tasks) + PAGE)
            if direction > 0:
                offset = self.window_offset + len(self.tasks) + PAGE - size
            else:
                offset = max(0, self.window_offset - PAGE)
            await self._load(offset, size, keep=keep)
        finally:
            self._sliding = False

    # -- the task under the cursor ---------------------------------------------------------------
    def current_row(self) -> Task | GroupRow | None:
        row = self.table.cursor_row
        return self.rows[row] if self.rows and 0 <= row < len(self.rows) else None

    def current_task(self) -> Task | None:
        """The task under the cursor (None on a group's header)."""
        row = self.current_row()
        return row if isinstance(row, Task) else None

    def _replace(self, task: Task) -> None:
        """Update one row in place (its state, its mark)."""
        for index, known in enumerate(self.rows):
            if isinstance(known, Task) and known.id == task.id:
                self.rows[index] = task
                self.tasks = [r for r in self.rows if isinstance(r, Task)]
                cells = self._cells(task)
                for (key, _, _), value in zip(self._layout.columns, cells, strict=True):
                    if key in ("state", "mark"):
                        self.table.update_cell(str(task.id), key, value)
                return

    async def _reload_rows(self, task_ids: list[int]) -> None:
        queue = self.queue
        for task_id in task_ids:
            if any(t.id == task_id for t in self.tasks):
                self._replace(await queue.get(task_id))

    # -- actions ---------------------------------------------------------------------------------
    def action_state(self, action: str) -> bool | None:
        # Hidden rather than greyed: with NO_COLOR a grey key looks like a live one.
        if action in ("approve_marked", "reject_marked"):
            return bool(self.marked)
        if action == "apply":  # shown only where it can work: the footer stays within 80 columns
            task = self.current_task()
            return task is not None and task.state is TaskState.APPROVED and not self.marked
        if action == "baseline":
            return self.baseline_action_state()
        if action == "details":  # on a group's header: fold or unfold it
            return self.current_row() is not None
        if action in ("approve", "reject", "snooze", "mark"):
            return self.current_task() is not None
        return self.view_action_state(action)

    async def action_details(self) -> None:
        from controlroom.tui.screens.task_details import TaskDetailsScreen

        if isinstance(self.current_row(), GroupRow):
            await self.action_fold()
        elif task := self.current_task():
            self.app.push_screen(TaskDetailsScreen(task.id))

    async def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        await self.action_details()

    def action_filter(self) -> None:
        from controlroom.tui.screens.prompt import filter_prompt

        async def filtered(text: str | None) -> None:
            if text is None:
                return
            saved = self.app.workspace.config.get("queue.filters")
            try:  # the language of core.taskfilter, as `tasks --search`; @name: a saved filter
                parse_filter(expand_saved(text, saved))
            except ValueError as exc:
                self.notify(f"Bad filter: {exc}", severity="warning")
                return
            self.filter_text = text
            await self._load(0, PAGE)
            self.table.focus()

        self.app.push_screen(filter_prompt(self.filter_text), filtered)

    # -- g / G: jump to either end of the whole queue, not just the window -----------------------
    async def jump(self, to_end: bool) -> None:
        if to_end:
            await self._load(max(0, self.total - PAGE), PAGE, row=PAGE)
            if self.rows:
                self.table.move_cursor(row=len(self.rows) - 1, animate=False)
        else:
            await self._load(0, PAGE, row=0)
        self.update_status()
