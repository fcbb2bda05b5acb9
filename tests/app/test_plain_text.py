"""Repository text is data: subjects, paths, messages and errors that look like Rich markup or
carry terminal escapes are shown literally (controls escaped), in every pane and details screen."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.widgets import Static

from controlroom.core.model import AgentContext, AgentOutput, ChangeSet, Severity
from controlroom.tui.panes.convergence import ConvergencePane
from controlroom.tui.panes.queue import QueuePane
from controlroom.tui.screens.commit_details import CommitDetailsScreen
from controlroom.tui.screens.task_details import TaskDetailsScreen
from tests.app.seed import PatternAgent, analyze, workspace_for

SIZE = (80, 24)
ESC, BEL = "\x1b", "\x07"
HOSTILE_FILE = "app/[link=x]\x1b[31m[/].py"
HOSTILE_CODE = 'x = eval("[/] [link=x] \x1b[31m red")\n'
SUBJECTS = ("[bold red]x[/]", "[skip ci] release", "clear \x1b[2J\x07 screen", "[/] fix")


class BrokenAgent:
    """An agent whose error message looks like markup and carries an escape sequence."""

    name = "broken"

    async def analyze(self, change: ChangeSet, ctx: AgentContext) -> AgentOutput:
        raise RuntimeError("[/] boom [link=x] \x1b[31m")


def hostile_agents() -> list:
    return [
        PatternAgent("critic", "eval(", "S307", Severity.CRITICAL, 0.9),
        PatternAgent("markup", "[/]", "M[/]", Severity.HIGH, 0.8),
        PatternAgent("link", "[link=x]", "L001", Severity.MEDIUM, 0.7),
        PatternAgent("ansi", "\x1b[31m", "A001", Severity.LOW, 0.6),
        BrokenAgent(),
    ]


@pytest.fixture
async def hostile(repo, tmp_path):
    """Four commits with hostile subjects, each analyzed; the first adds a hostile file."""
    repo.commit({"README.md": "demo\n"}, "initial")
    workspace = workspace_for(repo.path, tmp_path / "state.db")
    for index, subject in enumerate(SUBJECTS):
        code = HOSTILE_CODE * (index + 1)  # each commit touches new lines: new findings
        sha = repo.commit({HOSTILE_FILE: code}, subject)
        await analyze(workspace, sha, agents=hostile_agents())
    return workspace


def screen_text(app) -> str:
    """What the terminal would show, as plain text (what ``export_screenshot`` draws)."""
    console = Console(
        width=app.size.width, height=app.size.height, file=io.StringIO(), record=True,
        force_terminal=True, color_system="truecolor", legacy_windows=False,
    )  # fmt: skip
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text(styles=False)


def cells(table) -> list[str]:
    return [str(value) for row in range(table.row_count) for value in table.get_row_at(row)]


def assert_no_raw_controls(text: str) -> None:
    assert ESC not in text and BEL not in text, repr(text)


async def test_hostile_text_is_shown_literally_everywhere(hostile, make_app):
    app = make_app(hostile)
    async with app.run_test(size=SIZE) as pilot:
        queue = app.query_one(QueuePane)
        values = cells(queue.table)
        assert "[/] is risky here" in values, values  # the message column is 25 wide at 80
        assert "[link=x] is risky here" in values, values
        assert "\\x1b[31m is risky here" in values, values  # escaped, shown whole
        assert "M[/]" in values, values  # the rule
        # the path, cut in the middle: first directory, file name ("[/]" holds a slash), literally
        assert "app/\u2026/].py:4" in values, values
        assert_no_raw_controls("".join(values))
        assert_no_raw_controls(screen_text(app))

        await pilot.press("2")
        await pilot.pause()
        convergence = app.query_one(ConvergencePane)
        subjects = [str(convergence.table.get_row_at(r)[1]) for r in range(4)]
        assert subjects[0] == "[/] fix" and subjects[2:] == ["[skip ci] release", "[bold red]x[/]"]
        assert subjects[1].startswith("clear \\x1b[2J\\x07 scr"), subjects
        shown = screen_text(app)
        assert "[skip ci] release" in shown and "[/] fix" in shown and "[bold red]x[/]" in shown
        assert_no_raw_controls(shown)

        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CommitDetailsScreen)
        details = str(app.screen.query_one("#details-text", Static).content)
        assert "[/] fix" in details
        assert "error: RuntimeError: [/] boom [link=x] \\x1b[31m" in details
        assert "app/[link=x]\\x1b[31m[/].py" in details
        assert_no_raw_controls(details)
        assert_no_raw_controls(screen_text(app))
        await pilot.press("escape")

        await pilot.press("1")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TaskDetailsScreen)
        details = str(app.screen.query_one("#details-text", Static).content)
        assert 'x = eval("[/] [link=x] \\x1b[31m red")' in details  # the code excerpt
        assert "[link=x]" in details and "[/]" in details
        assert_no_raw_controls(details)
        assert_no_raw_controls(screen_text(app))
        await pilot.press("escape")

        for key in ("3", "4", "5"):
            await pilot.press(key)
            await pilot.pause()
            assert_no_raw_controls(screen_text(app))


async def test_a_notification_is_plain_text(hostile, make_app):
    def broken(ws, store):
        raise RuntimeError("[skip ci] [/] boom \x1b]52;c;ZWNobyBoaQ==\x07")

    app = make_app(hostile, background=True, runtime_factory=broken)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        [note] = [n for n in app._notifications if "boom" in n.message]
        assert not note.markup
        assert note.message == "RuntimeError: [skip ci] [/] boom \\x1b]52;c;ZWNobyBoaQ==\\x07"
        shown = screen_text(app)  # the toast, drawn
        assert "RuntimeError: [skip ci] [/] boom" in shown and "\\x1b]52;c;" in shown
        assert_no_raw_controls(shown)


SLA_CONFIG = """
[[sla.checks]]
name = "exports"
kind = "disk"
group = "[bold]pipes[/]"
max_pct = 100
failure_threshold = 1
"""


async def test_sla_groups_and_messages_are_plain_text(repo, tmp_path, make_app):
    from controlroom.core.sla.checks import CheckResult
    from controlroom.core.sla.monitor import SlaMonitor, SlaSettings
    from controlroom.core.store import Store
    from controlroom.core.workspace import resolve_workspace
    from controlroom.tui.panes.sla import SlaHistoryScreen
    from tests.app.test_sla_pane import NOW, show_sla

    name, message = "exports", "[link=x] full \x1b]52;c;eA==\x07"
    repo.commit({"controlroom.toml": SLA_CONFIG}, "sla checks")
    workspace = resolve_workspace(repo.path, tmp_path / "state.db")
    store = await Store.open(workspace.db_path)
    try:
        monitor = SlaMonitor(store, SlaSettings.from_config(workspace.config), clock=lambda: NOW)
        result = CheckResult(name, NOW - 600, "violated", 50.0, 100.0, 0.0, message)
        await monitor.record(monitor.settings.check(name), result)
    finally:
        await store.close()
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_sla(app, pilot)
        values = cells(pane.query_one("#sla-table"))
        assert "[[bold]pipes[/]]" in values and "exports" in values, values
        assert_no_raw_controls(screen_text(app))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SlaHistoryScreen)
        title = str(app.screen.query_one("#sla-history-title", Static).content)
        assert title.startswith("exports (disk)")
        assert title.endswith("[link=x] full \\x1b]52;c;eA==\\x07")
        assert_no_raw_controls(screen_text(app))


async def test_worker_names_are_plain_text(workspace, make_app):
    from controlroom.core.store import Store
    from controlroom.core.subagents.registry import Registry
    from controlroom.tui.panes.subagents import SubagentsPane

    store = await Store.open(workspace.db_path)
    try:
        await Registry(store).register(
            "[/] w\x1b[2J", ["[link=x]"], max_concurrent=1, heartbeat_interval=5.0, pid=1
        )
    finally:
        await store.close()
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        generation = app.refresh_generation
        await pilot.press("5")
        while "subagents" not in app._loaded:
            generation = await app.wait_for_refresh(generation, timeout=5)
        values = cells(app.query_one(SubagentsPane).query_one("#sa-workers"))
        assert values[:2] == ["[/] w\\x1b[2J", "[link=x]"], values
        assert_no_raw_controls(screen_text(app))
