"""The Queue pane's ``b``: on a repository with no baseline yet, analyze the whole tree once, with
a progress bar; its tasks are listed after the work of new commits (``core/baseline.py``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.widgets import ProgressBar

from controlroom.core.baseline import BaselineProgress, has_baseline
from controlroom.tui.actions import ACTIONS, Action

ACTIONS.add(
    Action("queue.baseline", "b", "baseline", "Baseline", scope="queue", mutates=True,
           help="Analyze the whole tree once (shown until a baseline exists): its tasks are "
                "listed after the work of new commits"),
)  # fmt: skip


@dataclass
class BaselineProgressed(Message):
    """The baseline worker's progress (a copy: the worker keeps going)."""

    progress: BaselineProgress


def make_service(app: Any) -> Any:
    """The analysis service the baseline runs on (the app's workspace and store)."""
    from controlroom.core.analysis import AnalysisService

    return AnalysisService(app.store, app.workspace, clock=app.clock)


class QueueBaselineActions:
    """Mixed into ``QueuePane``; ``baseline_state``: None unknown, "offered", "running", "done"."""

    if TYPE_CHECKING:
        app: Any
        baseline_state: str | None

        def notify(self, message: str, **kwargs: Any) -> None: ...
        def run_worker(self, work: Any, *args: Any, **kwargs: Any) -> Any: ...
        def post_message(self, message: Message) -> bool: ...
        def query_one(self, selector: Any, expect_type: Any = None) -> Any: ...
        def refresh_bindings(self) -> None: ...
        async def refresh_data(self) -> None: ...

    async def check_baseline(self) -> None:
        """Offer the baseline while none exists (once per session, a notice on a new store)."""
        if self.baseline_state in ("running", "done"):
            return
        exists = await has_baseline(self.app.store)
        offered = self.baseline_state == "offered"
        self.baseline_state = "done" if exists else "offered"
        if not exists and not offered and getattr(self.app, "new_store", False):
            self.notify(
                "New store: only new commits get analyzed. Press b to analyze the whole tree "
                "once (a baseline, listed after new work).",
                title="first open",
                timeout=20,
            )
        self.refresh_bindings()

    def baseline_action_state(self) -> bool:
        """Offered while no baseline exists; out of the footer while rows are marked (80 columns)."""
        if getattr(self, "marked", None):
            return False
        return self.baseline_state == "offered" and not getattr(self.app, "read_only", False)

    def action_baseline(self) -> None:
        if self.baseline_state != "offered":
            return
        self.baseline_state = "running"
        bar = self.query_one("#queue-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.refresh_bindings()
        self.notify("Baseline: analyzing every file at HEAD ...", timeout=5)
        self.run_worker(self._run_baseline(), group="queue.baseline", exit_on_error=False)

    async def _run_baseline(self) -> None:
        def report(progress: BaselineProgress) -> None:
            self.post_message(BaselineProgressed(replace(progress, failed=list(progress.failed))))

        try:
            await make_service(self.app).baseline(progress=report)
        except Exception as exc:  # shown, never fatal; the offer stands again
            self.baseline_state = "offered"
            self.query_one("#queue-progress", ProgressBar).display = False
            self.notify(f"Baseline failed: {type(exc).__name__}: {exc}", severity="error")
            self.refresh_bindings()

    async def on_baseline_progressed(self, message: BaselineProgressed) -> None:
        progress = message.progress
        bar = self.query_one("#queue-progress", ProgressBar)
        bar.update(total=progress.agents_total, progress=progress.agents_done)
        await self.refresh_data()
        if not progress.finished:
            return
        bar.display = False
        self.baseline_state = "done"
        self.refresh_bindings()
        failed = f"; failed: {', '.join(progress.failed)}" if progress.failed else ""
        self.notify(
            f"Baseline done: {progress.files} Python files, {progress.tasks_created} new tasks "
            f"(listed after new work){failed}",
            severity="warning" if progress.failed else "information",
            timeout=10,
        )
