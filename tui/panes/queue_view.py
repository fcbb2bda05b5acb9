"""The Queue pane's view keys (k9s and lazygit conventions): sort by a column, group by file, rule
or agent and fold a group, open the task's file in the operator's editor, copy ``path:line``
(OSC 52), and mute a rule or a file (undone by ``u``)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual.app import SuspendNotSupported

from controlroom.core.model import Task
from controlroom.core.mutes import Mute, active_mutes, mute, unmute
from controlroom.core.taskview import GROUPS, SORTS, TaskView, group_counts, next_name
from controlroom.tui.actions import ACTIONS, Action
from controlroom.tui.editor import EditorError, editor_argv, file_in_repository
from controlroom.tui.panes.queue_rows import DEFAULT_STATES, GroupRow, group_value, with_headers

ACTIONS.add(
    Action("queue.sort", "o", "sort", "Sort", scope="queue", show=False,
           help=f"Sort by the next column ({', '.join(SORTS)})"),
    Action("queue.group", "v", "group", "Group", scope="queue", show=False,
           help="Group by file, then rule, then agent, then no grouping"),
    Action("queue.fold", "z", "fold", "Fold group", scope="queue", show=False,
           help="Fold or unfold the group under the cursor (enter on its header too)"),
    Action("queue.edit", "e", "edit", "Edit", scope="queue", show=False,
           help="Open the task's file at its line in $VISUAL / $EDITOR"),
    Action("queue.copy", "y", "copy", "Copy path:line", scope="queue", show=False,
           help="Copy the task's path:line to the clipboard (OSC 52)"),
    Action("queue.mute", "m", "mute", "Mute rule", scope="queue", mutates=True, show=False,
           help="Hide every task of this rule from the queue (u undoes it)"),
    Action("queue.mute_file", "M", "mute_file", "Mute file", scope="queue", mutates=True,
           show=False, help="Hide every task of this file from the queue (u undoes it)"),
    Action("queue.unmute_all", "ctrl+u", "unmute_all", "Unmute all", scope="queue",
           mutates=True, show=False, key_display="^u", help="Lift every mute: their tasks return"),
    Action("queue.nitpicks", "N", "nitpicks", "Nitpicks", scope="queue", show=False,
           help="Show or hide the tasks below [queue] min_severity (low and info by default)"),
)  # fmt: skip

GROUP_ORDER = list(GROUPS)  # file, rule, agent
SORT_ORDER = list(SORTS)


class QueueViewActions:
    """Mixed into ``QueuePane``: needs ``view``, ``current_row``, ``current_task``, ``_load``."""

    if TYPE_CHECKING:
        view: TaskView
        app: Any
        filter_text: str
        total: int
        baseline_ids: set[int]
        queue: Any
        mutes: list[Mute]
        _last_mute: Mute | None
        show_nitpicks: bool
        below_fold: int
        hidden_by_learning: int

        def current_row(self) -> Task | GroupRow | None: ...
        def current_task(self) -> Task | None: ...
        async def _load(
            self, offset: int, size: int, *, keep: Task | GroupRow | None = ..., row: int = ...
        ) -> None: ...
        def notify(self, message: str, **kwargs: Any) -> None: ...
        def update_status(self) -> None: ...
        def refresh_bindings(self) -> None: ...

    def view_status(self) -> list[str]:
        parts = []
        if self.view.sort != "priority":
            parts.append(f"sort: {self.view.sort}")
        if self.view.group:
            parts.append(f"by {self.view.group}")
        if self.mutes:
            parts.append(f"muted: {', '.join(m.value for m in self.mutes[:3])}"
                         + ("..." if len(self.mutes) > 3 else ""))  # fmt: skip
        if self.below_fold:
            learned = (
                f", {self.hidden_by_learning:,} by learning" if self.hidden_by_learning else ""
            )
            parts.append(f"{self.below_fold:,} below {self.view.min_severity}{learned} (N shows)")
        elif self.show_nitpicks:
            parts.append("nitpicks shown (N hides)")
        return parts

    def view_action_state(self, action: str) -> bool | None:
        if action == "fold":
            return self.view.group is not None and self.current_row() is not None
        if action in ("edit", "copy", "mute", "mute_file"):
            return self.current_task() is not None
        if action == "unmute_all":
            return bool(self.mutes)
        return True

    async def _with_headers(
        self, tasks: list[Task], offset: int, has_baseline: bool
    ) -> list[Task | GroupRow]:
        """The window's tasks with group headers (and the baseline section's header)."""
        view, store = self.view, self.app.store
        column = view.group_column
        if column is None and not has_baseline:
            return list(tasks)
        states, search = DEFAULT_STATES, self.filter_text
        self.baseline_ids = set()
        baseline_count = 0
        if has_baseline and tasks:
            ids = [t.id for t in tasks]
            found = await store.fetchall(
                f"SELECT task_id FROM baseline_tasks WHERE task_id IN ({', '.join('?' * len(ids))})",
                ids,
            )
            self.baseline_ids = {r[0] for r in found}
            if self.baseline_ids:
                baseline_count = await self.queue.count(
                    states=states, search=search, view=replace(view, baseline_only=True)
                )
        counts: dict[str, int] = {}
        if column is not None:
            values = {group_value(t, column) for t in tasks} | set(view.collapsed)
            counts = await group_counts(
                store, sorted(values), states=states, search=search, view=view
            )
        return with_headers(
            tasks, column, counts=counts, folded=view.collapsed, baseline_ids=self.baseline_ids,
            baseline_count=baseline_count, at_start=offset == 0,
            at_end=offset + len(tasks) >= self.total,
        )  # fmt: skip

    async def action_nitpicks(self) -> None:
        """Toggle the tasks below ``[queue] min_severity``."""
        self.show_nitpicks = not self.show_nitpicks
        await self._reload_view(self.view, keep=self.current_task())

    async def _reload_view(self, view: TaskView, *, keep: Any = None) -> None:
        self.view = view
        await self._load(0, 200, keep=keep)
        self.refresh_bindings()

    async def action_sort(self) -> None:
        order = SORT_ORDER[(SORT_ORDER.index(self.view.sort) + 1) % len(SORT_ORDER)]
        await self._reload_view(replace(self.view, sort=order), keep=self.current_task())
        self.notify(f"Sorted by {order}.", timeout=2)

    async def action_group(self) -> None:
        group = next_name(GROUP_ORDER, self.view.group)
        view = replace(self.view, group=group, collapsed=frozenset())
        await self._reload_view(view, keep=self.current_task())
        self.notify(f"Grouped by {group}." if group else "No grouping.", timeout=2)

    async def action_fold(self) -> None:
        row, column = self.current_row(), self.view.group_column
        if row is None or column is None:
            return
        if isinstance(row, GroupRow):
            if row.baseline:
                return
            value = row.value
        else:
            value = group_value(row, column)
        view = self.view.toggled(value)
        folded = value in view.collapsed
        section = row.section if isinstance(row, GroupRow) and not folded else ""
        header = GroupRow(value, 0, folded=folded, section=section)
        await self._reload_view(view, keep=header)

    def action_copy(self) -> None:
        task = self.current_task()
        if task is None:
            return
        text = f"{task.path}:{task.line}"
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {text}", timeout=2)

    def action_edit(self) -> None:
        task = self.current_task()
        if task is None:
            return
        repo = self.app.workspace.repo_path
        try:
            path = file_in_repository(repo, task.path)
            argv = editor_argv(os.environ, path, task.line)
        except EditorError as exc:
            self.notify(str(exc), severity="warning")
            return
        try:
            with self.app.suspend():
                code = subprocess.run(argv, cwd=repo, check=False).returncode
        except SuspendNotSupported:
            self.notify(f"No terminal to hand over here: open {task.path}:{task.line} yourself.",
                        severity="warning")  # fmt: skip
            return
        except OSError as exc:
            self.notify(f"Cannot start {argv[0]}: {exc.strerror}", severity="warning")
            return
        self.app.refresh()
        if code:
            self.notify(f"{argv[0]} exited with {code}", severity="warning")

    async def action_mute(self) -> None:
        if (task := self.current_task()) is not None:
            await self._mute("rule", task.rule, task)

    async def action_mute_file(self) -> None:
        if (task := self.current_task()) is not None:
            await self._mute("path", task.path, task)

    async def _mute(self, kind: str, value: str, task: Task) -> None:
        config = self.app.workspace.config
        made = await mute(self.app.store, kind, value, now=self.app.clock(), task=task,
                          config=config)  # fmt: skip
        self._last_mute = made
        await self._reload_view(self.view)
        what = "rule" if kind == "rule" else "file"
        self.notify(f"Muted {what} {value}: its tasks are hidden (u undoes, ^u lifts all).")

    async def undo_mute(self) -> bool:
        """``u`` right after a mute lifts it; True when it did."""
        made, self._last_mute = self._last_mute, None
        if made is None:
            return False
        await unmute(
            self.app.store, made.id, now=self.app.clock(), config=self.app.workspace.config
        )
        await self._reload_view(self.view)
        self.notify(f"{made.value} is back in the queue.")
        return True

    async def action_unmute_all(self) -> None:
        config = self.app.workspace.config
        for made in await active_mutes(self.app.store):
            await unmute(self.app.store, made.id, now=self.app.clock(), config=config)
        self._last_mute = None
        await self._reload_view(self.view)
        self.notify("Every mute lifted.")
