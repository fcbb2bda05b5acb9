"""The Convergence pane: one row per analyzed commit, newest first; ``enter`` opens its findings.

Rows come in pages of ``PAGE`` from ``core.history.list_commits``; the next page loads when the
cursor nears the end. The Impact column is filled by ``core.correlator.store.impact_by_commit``
when the correlator is installed ("-": not measured); ``#convergence-strip`` above the table is
left empty (hidden) for the correlator's live header.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from controlroom.core.history import CommitSummary, list_commits
from controlroom.tui.actions import ACTIONS, Action, RegistryActions
from controlroom.tui.format import cell, duration
from controlroom.tui.host import host
from controlroom.tui.panes.empty import EmptyState
from controlroom.tui.widgets import KeyTable
from controlroom.tui.widgets.sparkline import strip_text

PAGE = 200
EDGE = 10

ACTIONS.title_scope("convergence", "Convergence pane")
ACTIONS.add(
    Action(
        "convergence.details",
        "enter",
        "details",
        "Findings",
        scope="convergence",
        help="The commit's findings by file and by agent, and each agent's run",
    ),
)

COLUMNS = (
    ("sha", "Commit", 7),
    ("subject", "Subject", None),
    ("agents", "Ok/F", 4),
    ("duration", "Time", 5),
    ("findings", "Find", 4),
    ("consensus", "Cons", 4),
    ("critical", "Crit", 4),
    ("tasks", "New/Up/Res", 10),
)
IMPACT_COLUMN = ("impact", "Impact", 7)
MIN_SUBJECT = 10

ImpactSource = Callable[[Any, Sequence[str]], Awaitable[dict[str, Any]]]


def impact_source() -> ImpactSource | None:
    """``impact_by_commit`` of the correlator when it is installed, else None (no column)."""
    try:
        from controlroom.core.correlator.store import impact_by_commit
    except ImportError:
        return None
    return impact_by_commit


STRIP_EVERY = 30.0  # seconds between header-strip refreshes (one git log each)


class ConvergencePane(RegistryActions, Vertical):
    ACTION_SCOPE = "convergence"
    BINDINGS = ACTIONS.bindings("convergence")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commits: list[CommitSummary] = []
        self.has_more = False
        self.impact = impact_source()
        self._impact_failed = False
        self._subject_width = MIN_SUBJECT
        self._strip_at = float("-inf")

    def compose(self) -> ComposeResult:
        yield Static("", id="convergence-strip", markup=False)
        yield KeyTable(id="convergence-table", cursor_type="row", cell_padding=0)
        yield EmptyState(
            "No commit analyzed yet",
            "Each commit controlroom analyzes gets a row here: commit while controlroom runs, "
            "or run `controlroom --run-once` on this repository.",
            id="convergence-empty",
            focusable=True,
        )

    def on_mount(self) -> None:
        self.query_one("#convergence-strip").display = False
        self.query_one("#convergence-empty").display = False
        self._build_columns(self.size.width)

    @property
    def table(self) -> KeyTable:
        return self.query_one("#convergence-table", KeyTable)

    def _columns(self) -> tuple[tuple[str, str, int | None], ...]:
        return (*COLUMNS, IMPACT_COLUMN) if self.impact else COLUMNS

    def _build_columns(self, width: int) -> None:
        columns = self._columns()
        fixed = sum((w or 0) + 1 for _, _, w in columns)
        self._subject_width = max(MIN_SUBJECT, width - fixed - 3)
        self.table.clear(columns=True)
        for key, label, w in columns:
            self.table.add_column(label, key=key, width=(w or self._subject_width) + 1)

    async def on_resize(self) -> None:
        fixed = sum((w or 0) + 1 for _, _, w in self._columns())
        if max(MIN_SUBJECT, self.size.width - fixed - 3) != self._subject_width:
            self._build_columns(self.size.width)
            await self._fill(self.commits, self.table.cursor_row)

    async def _refresh_strip(self) -> None:
        """Velocity, commit style and live CPU/memory (the correlator); at most every 30 s."""
        now = host(self).clock()
        if not host(self).background or now - self._strip_at < STRIP_EVERY:
            return  # tests and snapshots: no live data, nothing that moves with the clock
        self._strip_at = now
        try:
            from controlroom.core.correlator.service import header_strip

            data = await header_strip(
                host(self).store, host(self).workspace.repo_path, host(self).workspace.config
            )
        except Exception as exc:
            self.notify(f"header strip off: {type(exc).__name__}: {exc}", severity="warning")
            self._strip_at = float("inf")
            return
        strip = self.query_one("#convergence-strip", Static)
        strip.update(strip_text(data, max(20, (self.size.width or 80) - 2)))
        strip.display = True

    async def refresh_data(self) -> None:
        await self._refresh_strip()
        keep = self.table.cursor_row
        commits = await list_commits(host(self).store, offset=0, limit=max(PAGE, len(self.commits)))
        self.has_more = len(commits) >= max(PAGE, len(self.commits))
        await self._fill(commits, keep)
        note = self.query_one("#convergence-empty")
        had_focus = self.app.focused in (self.table, note)
        note.display = not commits
        self.table.display = bool(commits)
        if had_focus:
            (self.table if commits else note).focus()

    async def _impacts(self, shas: list[str]) -> dict[str, Any]:
        if self.impact is None or self._impact_failed or not shas:
            return {}
        try:
            return await self.impact(host(self).store, shas)
        except Exception as exc:  # e.g. the correlator's tables are missing: say it once
            self._impact_failed = True
            self.notify(f"impact column off: {type(exc).__name__}: {exc}", severity="warning")
            return {}

    def _cells(self, c: CommitSummary, impacts: dict[str, Any]) -> list[Any]:
        cells: list[Any] = [
            c.sha[:7],
            cell(c.subject, self._subject_width),  # plain text: "[/] fix" is a subject, not markup
            f"{c.agents_ok}/{c.agents_failed}",
            duration(c.duration_s),
            str(c.findings_count),
            str(c.consensus_count),
            str(c.critical_count),
            f"{c.tasks_created}/{c.tasks_updated}/{c.tasks_resolved}",
        ]
        if self.impact:
            summary = impacts.get(c.sha)
            cells.append(summary.label if summary is not None else "-")
        return cells

    async def _fill(self, commits: list[CommitSummary], cursor_row: int) -> None:
        impacts = await self._impacts([c.sha for c in commits])
        table = self.table
        table.clear()
        for commit in commits:
            table.add_row(*self._cells(commit, impacts), key=commit.sha)
        self.commits = commits
        if commits:
            table.move_cursor(row=min(max(cursor_row, 0), len(commits) - 1), animate=False)

    async def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if self.has_more and self.table.cursor_row >= len(self.commits) - EDGE:
            more = await list_commits(host(self).store, offset=len(self.commits), limit=PAGE)
            self.has_more = len(more) == PAGE
            impacts = await self._impacts([c.sha for c in more])
            for commit in more:
                self.table.add_row(*self._cells(commit, impacts), key=commit.sha)
            self.commits += more

    def current_commit(self) -> CommitSummary | None:
        row = self.table.cursor_row
        return self.commits[row] if self.commits and 0 <= row < len(self.commits) else None

    def action_state(self, action: str) -> bool | None:
        return bool(self.commits) if action == "details" else True

    def action_details(self) -> None:
        from controlroom.tui.screens.commit_details import CommitDetailsScreen

        if commit := self.current_commit():
            self.app.push_screen(CommitDetailsScreen(commit.sha))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_details()
