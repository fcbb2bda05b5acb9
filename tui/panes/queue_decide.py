"""The Queue pane's decisions: a, r, s on the task under the cursor (then the next row), u undo,
space to mark, A/R on every marked task."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controlroom.core.errors import ControlroomError
from controlroom.core.model import Task, TaskState


class QueueDecideActions:
    """Mixed into ``QueuePane``."""

    if TYPE_CHECKING:
        app: Any
        rows: list[Any]
        tasks: list[Task]
        marked: set[int]
        table: Any
        queue: Any
        _last_mute: Any

        def current_task(self) -> Task | None: ...
        def notify(self, message: str, **kwargs: Any) -> None: ...
        def _replace(self, task: Task) -> None: ...
        async def _reload_rows(self, task_ids: list[int]) -> None: ...
        async def undo_mute(self) -> bool: ...
        def update_status(self) -> None: ...
        def refresh_bindings(self) -> None: ...

    async def _decide(self, task_ids: list[int], to: TaskState, reason: str | None = None) -> bool:
        self._last_mute = None  # u now undoes this decision
        try:
            decisions = await self.queue.decide_many(task_ids, to, reason=reason)
        except ControlroomError as exc:
            self.notify(exc.message, severity="warning")
            return False
        await self._reload_rows([d.task_id for d in decisions])
        self.update_status()
        self.refresh_bindings()
        return True

    async def _decide_current(self, task: Task, to: TaskState, reason: str | None = None) -> None:
        """Decide one task, then move to the next row: triage is a walk down the queue."""
        if not await self._decide([task.id], to, reason):
            return
        current = self.current_task()
        if current is not None and current.id == task.id:
            self.table.action_cursor_down()

    def _move_past(self, decided: set[int]) -> None:
        """After a bulk decision: the first row from the cursor on (else from the top) that was
        not part of it."""
        start = max(0, self.table.cursor_row)
        order = list(range(start, len(self.rows))) + list(range(0, start))
        row = next(
            (i for i in order if isinstance(t := self.rows[i], Task) and t.id not in decided), None
        )
        if row is not None:
            self.table.move_cursor(row=row, animate=False)

    async def action_approve(self) -> None:
        if task := self.current_task():
            await self._decide_current(task, TaskState.APPROVED)

    async def action_snooze(self) -> None:
        if task := self.current_task():
            await self._decide_current(task, TaskState.SNOOZED)

    def action_reject(self) -> None:
        from controlroom.tui.screens.prompt import reason_prompt

        task = self.current_task()
        if task is None:
            return

        async def rejected(reason: str | None) -> None:
            if reason is not None:
                await self._decide_current(task, TaskState.REJECTED, reason or None)

        self.app.push_screen(reason_prompt(), rejected)

    async def action_undo(self) -> None:
        if await self.undo_mute():
            return
        try:
            undone = await self.queue.undo()
        except ControlroomError as exc:
            self.notify(exc.message, severity="warning")
            return
        if not undone:
            self.notify("Nothing to undo.")
            return
        await self._reload_rows([d.task_id for d in undone])
        if len(undone) == 1:
            self.notify(f"Task {undone[0].task_id} is {undone[0].to_state} again.")
        else:
            self.notify(f"Undid the bulk decision on {len(undone)} tasks.")

    def action_mark(self) -> None:
        task = self.current_task()
        if task is None:
            return
        self.marked ^= {task.id}
        self._replace(task)
        self.table.action_cursor_down()
        self.update_status()
        self.refresh_bindings()

    async def _act_on_marked(self, to: TaskState, reason: str | None = None) -> None:
        ids = sorted(self.marked)
        self.marked.clear()
        decided = await self._decide(ids, to, reason)
        for task in list(self.tasks):
            self._replace(task)
        if decided:
            self._move_past(set(ids))
        self.update_status()
        self.refresh_bindings()

    async def action_approve_marked(self) -> None:
        if self.marked:
            await self._act_on_marked(TaskState.APPROVED)

    def action_reject_marked(self) -> None:
        from controlroom.tui.screens.prompt import reason_prompt

        if not self.marked:
            return

        async def rejected(reason: str | None) -> None:
            if reason is not None:
                await self._act_on_marked(TaskState.REJECTED, reason or None)

        self.app.push_screen(reason_prompt(len(self.marked)), rejected)
