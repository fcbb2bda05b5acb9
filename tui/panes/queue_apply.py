"""The Queue pane's ``x``: carry out the approved task under the cursor in the background."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controlroom.core.errors import ControlroomError
from controlroom.core.model import Task, TaskState


class QueueApplyActions:
    """Mixed into ``QueuePane``."""

    if TYPE_CHECKING:
        app: Any

        def current_task(self) -> Task | None: ...
        def notify(self, message: str, **kwargs: Any) -> None: ...
        def run_worker(self, work: Any, *args: Any, **kwargs: Any) -> Any: ...
        async def _reload_rows(self, task_ids: list[int]) -> None: ...
        def update_status(self) -> None: ...
        def refresh_bindings(self) -> None: ...

    def action_apply(self) -> None:
        task = self.current_task()
        if task is None:
            return
        if task.state is not TaskState.APPROVED:
            self.notify(
                f"Task {task.id} is {task.state}: approve it first (a).", severity="warning"
            )
            return
        self.notify(f"Applying task {task.id}: making and verifying the fix...")
        self.run_worker(self._apply(task.id), group="queue.apply", exit_on_error=False)

    async def _apply(self, task_id: int) -> None:
        from controlroom.core.analysis import fixing_agents
        from controlroom.core.apply import apply_task

        try:
            result = await apply_task(
                self.app.store,
                self.app.workspace,
                task_id,
                agents=fixing_agents(self.app.workspace.config),
            )
        except ControlroomError as exc:
            self.notify(exc.message, severity="warning")
            return
        severity = {"applied": "information", "failed": "error"}.get(result.state, "warning")
        self.notify(f"Task {task_id} {result.state}: {result.summary}", severity=severity)
        await self._reload_rows([task_id])
        self.update_status()
        self.refresh_bindings()
