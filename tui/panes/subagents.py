"""The Sub-agents pane: worker processes, assignments, and idle-time hobbies.

Everything is read from the store (``core.subagents.stats``, ``AssignmentBoard``,
``hobby_statuses``). Keys: ``w`` start a local worker, ``d`` drain the highlighted sub-agent,
``enter`` the highlighted assignment's details. Bars are ``#``/``-`` with the percent written out.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import DataTable, Static

from controlroom.core.subagents.assignments import AssignmentBoard
from controlroom.core.subagents.hobbies import HobbyStatus, hobby_statuses
from controlroom.core.subagents.registry import Registry
from controlroom.core.subagents.settings import HobbySettings, SubagentSettings
from controlroom.core.subagents.stats import SubagentStats, subagent_stats
from controlroom.core.subagents.units import Assignment
from controlroom.tui.actions import ACTIONS, Action, RegistryActions
from controlroom.tui.format import plain
from controlroom.tui.host import host
from controlroom.tui.widgets.plain_table import PlainTable

ACTIONS.title_scope("subagents", "Sub-agents pane")
ACTIONS.add(
    Action("subagents.start_worker", "w", "start_worker", "Start worker", scope="subagents",
           mutates=True, help="Start a local worker process on this store"),
    Action("subagents.drain", "d", "drain", "Drain", scope="subagents", mutates=True,
           help="Drain the highlighted sub-agent: no new work, it exits when idle"),
    Action("subagents.details", "enter", "details", "Details", scope="subagents",
           help="The highlighted assignment: payload, result and error"),
)  # fmt: skip

SPARK = " .:-=+*#%@"


def bar(fraction: float, width: int = 10) -> str:
    filled = max(0, min(width, round(fraction * width)))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def spark(counts: list[int]) -> str:
    top = max(counts, default=0)
    if top == 0:
        return "." * len(counts)
    return "".join(SPARK[min(9, round(c / top * 9))] if c else "." for c in counts)


def ago(at: float | None, now: float) -> str:
    if at is None:
        return "never"
    seconds = max(0.0, now - at)
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f}h ago"
    return f"{seconds / 86400:.0f}d ago"


def hobby_lines(statuses: list[HobbyStatus], now: float) -> str:
    lines = ["Hobbies (proficiency = approval rate of their tasks; runs per hour, last 24 h)"]
    for s in statuses:
        p = s.proficiency
        lines.append(
            f"{s.hobby:<17} {bar(p.score)} {p.percent:3d}% ({p.decided} decided)  "
            f"last {ago(s.last_run_at, now)} {s.last_status or ''}  {s.runs} runs  "
            f"|{spark(s.per_hour)}|"
        )
    return "\n".join(lines)


class AssignmentScreen(ModalScreen[None]):
    """One assignment in full."""

    BINDINGS = [Binding("escape,q", "dismiss", "Back")]
    DEFAULT_CSS = """
    AssignmentScreen { align: center middle; }
    AssignmentScreen > VerticalScroll { width: 90%; height: 80%; border: round $accent;
        padding: 0 1; background: $surface; }
    """

    def __init__(self, assignment: Assignment) -> None:
        super().__init__()
        self.assignment = assignment

    def compose(self) -> ComposeResult:
        a = self.assignment
        result = a.result or {}
        output = result.get("output", {}) if isinstance(result, dict) else {}
        text = [
            f"Assignment {a.id}: {a.kind} {a.target}",
            f"state {a.state.value} on {a.subagent or '-'}, attempt {a.attempts}, lease {a.lease}",
            f"duration {a.duration_s:.2f} s" if a.duration_s is not None else "duration -",
            f"payload {json.dumps(a.payload, sort_keys=True)}",
            f"error {a.error}" if a.error else "no error",
        ]
        if output:
            text.append(f"findings {len(output.get('findings', []))}, metrics "
                        f"{json.dumps(output.get('metrics', {}), default=str)[:400]}")  # fmt: skip
        elif a.result:
            text.append(f"result {json.dumps(a.result, default=str)[:400]}")
        with VerticalScroll():
            yield Static(plain("\n".join(text)), markup=False)


class SubagentsPane(RegistryActions, Widget):
    """Pane id ``subagents``."""

    ACTION_SCOPE = "subagents"
    BINDINGS = ACTIONS.bindings("subagents")
    DEFAULT_CSS = """
    SubagentsPane { height: 1fr; }
    SubagentsPane #sa-workers { height: auto; max-height: 8; }
    SubagentsPane #sa-assignments { height: 1fr; }
    SubagentsPane Static { height: auto; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subagents: list[SubagentStats] = []
        self.assignments: list[Assignment] = []
        # Worker processes this pane started, by name; each is awaited by _reap (no zombies).
        self.started: dict[str, asyncio.subprocess.Process] = {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="sa-status", markup=False)
            workers = PlainTable(id="sa-workers", cursor_type="row", zebra_stripes=True)
            workers.add_columns("Name", "Capabilities", "Status", "Load", "Done", "Failed",
                                "Success", "Avg s", "Heartbeat")  # fmt: skip
            yield workers
            assignments = PlainTable(id="sa-assignments", cursor_type="row", zebra_stripes=True)
            assignments.add_columns("Id", "Kind", "Target", "Where", "State     ", "Time")
            yield assignments
            yield Static("", id="sa-hobbies", markup=False)

    async def refresh_data(self) -> None:
        store = host(self).store
        config = host(self).workspace.config
        now = host(self).clock()
        misses = SubagentSettings.from_config(config).missed_heartbeats
        self.subagents = await subagent_stats(store, missed_heartbeats=misses)
        self.assignments = await AssignmentBoard(store).recent(limit=200)
        statuses = await hobby_statuses(store, HobbySettings.from_config(config), now=now)
        live = sum(1 for w in self.subagents if w.status == "live")
        status = f"{live} live sub-agent(s)"
        if not self.subagents:
            status = ("No sub-agents: work runs in this process. Press w to start a worker, or "
                      "run `controlroom worker` elsewhere.")  # fmt: skip
        self.query_one("#sa-status", Static).update(plain(status))
        self._fill_workers(now)
        self._fill_assignments()
        self.query_one("#sa-hobbies", Static).update(plain(hobby_lines(statuses, now)))

    def _fill_workers(self, now: float) -> None:
        table = self.query_one("#sa-workers", DataTable)
        keep = table.cursor_row
        table.clear()
        for w in self.subagents:
            rate = "-" if w.success_rate is None else f"{w.success_rate * 100:.0f}%"
            table.add_row(
                w.name, ",".join(w.capabilities) or "-", w.status,
                f"{w.load}/{w.max_concurrent}" if w.max_concurrent else str(w.load),
                str(w.completed), str(w.failed), rate,
                "-" if w.avg_duration_s is None else f"{w.avg_duration_s:.2f}",
                ago(w.last_heartbeat, now) if w.last_heartbeat else "-",
            )  # fmt: skip
        if self.subagents:
            table.move_cursor(row=min(max(keep, 0), len(self.subagents) - 1), animate=False)

    def _fill_assignments(self) -> None:
        table = self.query_one("#sa-assignments", DataTable)
        keep = table.cursor_row
        table.clear()
        for a in self.assignments:
            duration = "-" if a.duration_s is None else f"{a.duration_s:.2f}s"
            table.add_row(str(a.id), a.kind, a.target, a.subagent or "-", a.state.value, duration)
        if self.assignments:
            table.move_cursor(row=min(max(keep, 0), len(self.assignments) - 1), animate=False)

    def action_state(self, action: str) -> bool | None:
        if action == "drain":
            return bool(self.subagents) or None
        if action == "details":
            return bool(self.assignments) or None
        return True

    async def action_start_worker(self) -> None:
        ws = host(self).workspace
        name = f"local-{int(time.time()) % 100000}"
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "controlroom.tui.commands.worker", "--repo", str(ws.repo_path),
            "--db", str(ws.db_path), "--name", name,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        self.started[name] = process
        self._reap(name, process)
        self.app.notify(f"started worker {name}")

    def worker_pids(self) -> dict[str, int]:
        """The worker processes this pane started that have not exited yet."""
        return {name: process.pid for name, process in self.started.items()}

    @work(group="worker-processes", exit_on_error=False)
    async def _reap(self, name: str, process: asyncio.subprocess.Process) -> None:
        """Wait for a started worker to exit (drained, stopped, crashed), so it never lingers
        as a zombie while the app runs, and forget it."""
        code = await process.wait()
        self.started.pop(name, None)
        self.app.notify(f"worker {name} exited ({code})")

    async def action_drain(self) -> None:
        table = self.query_one("#sa-workers", DataTable)
        row = table.cursor_row
        if not (0 <= row < len(self.subagents)) or self.subagents[row].name == "local":
            return
        name = self.subagents[row].name
        if self.subagents[row].capabilities[:1] == ("celery",):
            self.app.notify(f"{name} is a Celery worker: stop it with SIGTERM where it runs")
            return
        drained = await Registry(host(self).store).drain(name)
        self.app.notify(f"draining {name}" if drained else f"{name} is not live")
        await self.refresh_data()

    def action_details(self) -> None:
        table = self.query_one("#sa-assignments", DataTable)
        row = table.cursor_row
        if 0 <= row < len(self.assignments):
            self.app.push_screen(AssignmentScreen(self.assignments[row]))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.data_table.id == "sa-assignments":
            self.action_details()
