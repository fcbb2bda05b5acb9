"""The SLA pane: a heatmap of compliance per check (rows, grouped) and time bucket (columns).

Each cell is coloured by compliance against the check's target AND marked with a character
(``+`` met, ``~`` at risk, ``X`` violated, ``.`` no data) so it reads with NO_COLOR.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual_plotext import PlotextPlot

from controlroom.core.errors import ControlroomError
from controlroom.core.sla import acknowledge, heatmap, list_alerts, run_all_once
from controlroom.core.sla.compliance import CELL_MARKS
from controlroom.core.sla.durations import format_duration
from controlroom.core.sla.heatmap import Heatmap, HeatRow
from controlroom.core.sla.results import history
from controlroom.tui.actions import ACTIONS, Action, RegistryActions
from controlroom.tui.escape import visible
from controlroom.tui.format import plain
from controlroom.tui.panes.empty import EmptyState
from controlroom.tui.screens.details_base import DetailsScreen, heading
from controlroom.tui.widgets.key_table import KeyTable

CELL_STYLES = {"met": "green", "at_risk": "yellow", "violated": "bold red", "no_data": "dim"}
VIEWS = (("hourly", 24, "24 h"), ("daily", 7, "7 d"), ("daily", 30, "30 d"))
FIXED_WIDTH = 56  # name, value, status, compliance columns and the table's padding
# Below this width the 24h compliance column goes and the name column narrows (45 fixed), so the
# 30-day view still shows 30 days at 80 columns.
NARROW = 90
FIXED_WIDTH_NARROW = 45
EMPTY_TEXT = (
    "no SLA checks configured: add [[sla.checks]] to controlroom.toml, see data/sla.example.toml"
)

ACTIONS.title_scope("sla", "SLA pane")
ACTIONS.add(
    Action("sla.history", "enter", "history", "History", scope="sla",
           help="Chart the selected check's value against its threshold"),
    Action("sla.buckets", "b", "cycle_buckets", "24h/7d/30d", scope="sla",
           help="Switch the heatmap between 24 hourly, 7 daily and 30 daily buckets"),
    Action("sla.run_now", "n", "run_now", "Run now", scope="sla", mutates=True,
           help="Run the selected check once now"),
    Action("sla.ack", "a", "acknowledge", "Ack", scope="sla", mutates=True,
           help="Acknowledge the selected check's alert: reminders stop until it recovers"),
    Action("sla.alerts", "l", "alerts", "Alerts", scope="sla", help="List the latest SLA alerts"),
)  # fmt: skip


@dataclass
class CheckRan(Message):
    """A "run now" worker finished (workers never touch widgets)."""

    text: str
    ok: bool


def value_text(row: HeatRow) -> str:
    if row.last_value is None:
        return "-"
    unit = row.check.unit
    return format_duration(row.last_value) if unit == "s" else f"{row.last_value:.0f}{unit}"


def cells_text(row: HeatRow) -> Text:
    text = Text()
    for cell in row.cells:
        text.append(CELL_MARKS[cell.state], style=CELL_STYLES[cell.state])
    return text


def pct_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


class SlaPane(RegistryActions, Vertical):
    ACTION_SCOPE = "sla"
    BINDINGS = ACTIONS.bindings("sla")
    DEFAULT_CSS = """
    SlaPane { height: 1fr; }
    SlaPane > #sla-summary { height: 1; padding: 0 1; }
    SlaPane > #sla-table { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.view = 0
        self.data: Heatmap | None = None
        self._drawn_for: tuple[bool, int] | None = None  # (narrow, buckets) of the drawn table
        self._drawing = asyncio.Lock()  # held while the table is being redrawn
        self.row_names: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="sla-summary", markup=False)
        yield KeyTable(id="sla-table", zebra_stripes=False)
        yield EmptyState("SLA", EMPTY_TEXT, id="sla-empty", focusable=True)

    def on_mount(self) -> None:
        self.query_one("#sla-empty").display = False

    async def on_resize(self) -> None:
        """A terminal resized across the narrow layout or the bucket count (or a first load made
        before the pane had its size) draws the table again for the width it now has."""
        if self.data is not None and self._layout() != self._drawn_for:
            await self.refresh_data()

    def _layout(self) -> tuple[bool, int]:
        return (self.size.width or 80) < NARROW, self.buckets

    @property
    def buckets(self) -> int:
        wanted = VIEWS[self.view][1]
        width = self.size.width or 80
        fixed = FIXED_WIDTH_NARROW if width < NARROW else FIXED_WIDTH
        return max(6, min(wanted, width - fixed))

    async def drawn(self) -> None:
        """Return once no redraw is in flight (the table then matches ``_drawn_for``)."""
        async with self._drawing:
            return

    async def refresh_data(self) -> None:
        """Draw for the layout the pane has; again if its size changed while drawing (the data
        is read across an await), so the table always ends as ``_drawn_for`` says."""
        async with self._drawing:
            while True:
                layout = self._layout()
                await self._draw(layout)
                self._drawn_for = layout
                if self._layout() == layout:
                    return

    async def _draw(self, layout: tuple[bool, int]) -> None:
        app: Any = self.app
        narrow, buckets = layout
        mode, _, label = VIEWS[self.view]
        self.data = await heatmap(
            app.store, app.workspace.config, now=app.clock(), mode=mode, buckets=buckets
        )
        table = self.query_one("#sla-table", KeyTable)
        empty = self.query_one("#sla-empty", EmptyState)
        table.display, empty.display = not self.data.empty, self.data.empty
        if self.data.empty:
            self.query_one("#sla-summary", Static).update("SLA: 0 checks")
            return
        cursor = table.cursor_row
        table.clear(columns=True)
        table.add_column("check", width=12 if narrow else 16)
        table.add_column(f"last {len(self.data.bucket_starts)} x {label.split()[1]}")
        table.add_column("value", width=7)
        table.add_column("status", width=10)
        if not narrow:
            table.add_column("24h", width=6)
        self.row_names = []
        group = None
        for row in self.data.rows:
            if row.check.group != group:
                group = row.check.group
                table.add_row(Text(f"[{group}]", style="bold"), *[""] * (3 if narrow else 4))
                self.row_names.append(None)
            cells = [row.name, cells_text(row), value_text(row), row.status]
            table.add_row(*cells, *([] if narrow else [pct_text(row.compliance["24h"])]))
            self.row_names.append(row.name)
        if table.row_count:
            table.move_cursor(row=min(max(cursor, 1), table.row_count - 1))
        alerting = sum(r.alert_state == "violated" for r in self.data.rows)
        self.query_one("#sla-summary", Static).update(
            plain(
                f"SLA: {len(self.data.rows)} checks, {alerting} alerting | {label} | "
                "+ met  ~ at risk  X violated  . no data"
            )
        )

    @property
    def selected(self) -> HeatRow | None:
        if self.data is None or self.data.empty:
            return None
        table = self.query_one("#sla-table", KeyTable)
        index = table.cursor_row
        if not 0 <= index < len(self.row_names) or self.row_names[index] is None:
            return None
        return next((r for r in self.data.rows if r.name == self.row_names[index]), None)

    def action_state(self, action: str) -> bool | None:
        if action in ("history", "run_now", "acknowledge"):
            return True if self.selected is not None else None
        return True

    async def action_cycle_buckets(self) -> None:
        self.view = (self.view + 1) % len(VIEWS)
        await self.refresh_data()

    def action_history(self) -> None:
        row = self.selected
        if row is not None:
            self.app.push_screen(SlaHistoryScreen(row))

    def action_alerts(self) -> None:
        self.app.push_screen(SlaAlertsScreen())

    async def action_acknowledge(self) -> None:
        row = self.selected
        if row is None:
            return
        app: Any = self.app
        try:
            alert = await acknowledge(app.store, row.name, now=app.clock(), by="operator")
        except ControlroomError as exc:
            self.notify(exc.message, severity="warning")
            return
        self.notify(alert.message)
        await self.refresh_data()

    def action_run_now(self) -> None:
        row = self.selected
        if row is None:
            return
        self.run_worker(self._run(row.name), group="sla", exit_on_error=False)

    async def _run(self, name: str) -> None:
        app: Any = self.app
        (result,) = await run_all_once(
            app.store, app.workspace.config, names=[name], base_dir=app.workspace.repo_path
        )
        self.post_message(CheckRan(f"{name}: {result.status}: {result.message}", result.ok))

    @on(CheckRan)
    async def _ran(self, message: CheckRan) -> None:
        self.notify(message.text, severity="information" if message.ok else "warning")
        await self.refresh_data()


class SlaHistoryScreen(RegistryActions, Screen[None]):
    """One check's value against its threshold over the last 24 hours; violations marked."""

    ACTION_SCOPE = "details"
    BINDINGS = ACTIONS.bindings("details")

    def __init__(self, row: HeatRow) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        yield Static("", id="sla-history-title", markup=False)
        yield PlotextPlot(id="sla-history-plot")
        yield Footer(show_command_palette=False)

    async def on_mount(self) -> None:
        app: Any = self.app
        now = app.clock()
        points = await history(app.store, self.row.name, since=now - 86400)
        check = self.row.check
        measured = [p for p in points if p.value is not None]
        bad = [p for p in points if p.status not in ("ok", "overran")]
        self.query_one("#sla-history-title", Static).update(
            plain(
                f"{check.name} ({check.kind}): {len(points)} runs in 24 h, "
                f"{len(bad)} violations (x). {self.row.last_message}"
            )
        )
        plot = self.query_one(PlotextPlot).plt
        # plotext output is read back as ANSI: an ESC in the unit would be taken as a colour.
        plot.title(f"value ({visible(check.unit, multiline=False)}) vs threshold, hours ago")
        if measured:
            plot.plot([(p.at - now) / 3600 for p in measured], [p.value for p in measured],
                      marker="braille", label="value")  # fmt: skip
        if bad:
            top = check.threshold or max((p.value or 0 for p in measured), default=1)
            plot.scatter([(p.at - now) / 3600 for p in bad],
                         [p.value if p.value is not None else top for p in bad],
                         marker="x", label="violation")  # fmt: skip
        if check.threshold is not None:
            plot.hline(check.threshold)
        if not points:
            plot.title("no runs in the last 24 hours")

    def action_back(self) -> None:
        self.dismiss(None)

    def action_scroll_body(self, lines: int) -> None:
        """Nothing to scroll on a chart."""


class SlaAlertsScreen(DetailsScreen):
    heading = "SLA alerts"

    async def load(self) -> list[Text | str]:
        app: Any = self.app
        alerts = await list_alerts(app.store, limit=200)
        if not alerts:
            return [heading("SLA alerts"), "No SLA alerts yet."]
        lines = [
            f"{time.strftime('%m-%d %H:%M', time.localtime(a.at))} {a.kind:<12} "
            f"{a.severity:<8} {a.message}"
            for a in alerts
        ]
        return [heading(f"SLA alerts ({len(alerts)}, newest first)"), "\n".join(lines)]
