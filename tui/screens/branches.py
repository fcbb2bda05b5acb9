"""``B``: the branches ``apply`` made (core/branches.py). ``enter`` shows a branch's diff, ``m``
merges it onto the current branch and ``d`` deletes it, each after a y/n confirmation; in
read-only mode neither is offered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from controlroom.core.branches import Branches, BranchInfo, annotate
from controlroom.core.errors import ControlroomError
from controlroom.tui.actions import ACTIONS, Action, RegistryActions
from controlroom.tui.format import cell, plain
from controlroom.tui.screens.details_base import DetailsScreen
from controlroom.tui.widgets.key_table import KeyTable

ACTIONS.title_scope("branches", "Branches screen")
ACTIONS.title_scope("confirm", "Confirmations")
ACTIONS.add(
    Action("branches.back", "escape", "back", "Back", scope="branches", key_display="esc",
           palette=False, help="Close the Branches screen"),
    Action("branches.diff", "enter", "diff", "Diff", scope="branches",
           help="Show the branch's commits and diff against its merge base"),
    Action("branches.merge", "m", "merge", "Merge", scope="branches", mutates=True,
           help="Merge the branch onto the current branch (fast-forward, else cherry-pick)"),
    Action("branches.delete", "d", "delete", "Delete", scope="branches", mutates=True,
           help="Delete the branch (only one controlroom made)"),
    Action("confirm.yes", "y", "answer(True)", "Yes", scope="confirm", palette=False),
    Action("confirm.no", "n,escape", "answer(False)", "No", scope="confirm", palette=False,
           key_display="n/esc"),
)  # fmt: skip


class ConfirmScreen(RegistryActions, ModalScreen[bool]):
    """A yes/no question: ``y`` confirms, ``n`` or ``esc`` declines."""

    ACTION_SCOPE = "confirm"
    BINDINGS = ACTIONS.bindings("confirm")
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen #confirm-box { width: 72; height: auto; border: round $warning; padding: 0 1; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(plain(f"{self.question}\n\ny: yes   n/esc: no"), id="confirm-text")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class BranchDiffScreen(DetailsScreen):
    """One branch's commits and diff, as plain text."""

    def __init__(self, branches: Branches, info: BranchInfo) -> None:
        super().__init__()
        self.branches = branches
        self.info = info
        self.heading = f"Diff of {info.name}"

    async def load(self) -> list[Text | str]:
        summary = f"{self.info.name} {self.info.tip[:12]}: {self.info.subject}"
        if self.info.verification:
            summary += f"\nverification: {self.info.verification}"
        return [summary, await asyncio.to_thread(self.branches.diff, self.info.name)]


class BranchesScreen(RegistryActions, Screen[None]):
    ACTION_SCOPE = "branches"
    BINDINGS = ACTIONS.bindings("branches")
    DEFAULT_CSS = """
    BranchesScreen #branches-table { height: 1fr; border: round $primary; }
    BranchesScreen #branches-status { height: auto; max-height: 4; padding: 0 1; }
    """

    def __init__(self, branches: Branches) -> None:
        super().__init__()
        self.found: list[BranchInfo] = []
        self.branches = branches

    def compose(self) -> ComposeResult:
        table = KeyTable(id="branches-table", zebra_stripes=False)
        table.border_title = "Branches: fixes controlroom committed"
        yield table
        yield Static("Loading ...", id="branches-status", markup=False)
        yield Footer(show_command_palette=False)

    async def on_mount(self) -> None:
        table = self.query_one(KeyTable)
        for label, width in (("branch", 22), ("+/-", 7), ("state", 7), ("rule", 8)):
            table.add_column(label, width=width)
        table.add_column("task / verification")
        table.focus()
        await self.reload()

    async def reload(self, note: str = "") -> None:
        found = await asyncio.to_thread(self.branches.all)
        self.found = await annotate(self.app.store, found)  # type: ignore[attr-defined]
        table = self.query_one(KeyTable)
        row = table.cursor_row
        table.clear()
        for info in self.found:
            state = ("merged" if info.merged else "open") + ("" if info.ours else "*")
            where = f"{info.path}:{info.line} " if info.path else ""
            table.add_row(
                cell(info.name, 22), f"+{info.ahead}/-{info.behind}", state, cell(info.rule, 8),
                cell(f"{where}{info.verification or info.subject}"),
            )  # fmt: skip
        if self.found:
            table.move_cursor(row=min(max(row, 0), len(self.found) - 1))
        target = await asyncio.to_thread(self.branches.current)
        status = note or (
            f"{len(self.found)} branches; merging goes onto {target or 'a detached HEAD (refused)'}"
            "; * not made by controlroom"
            if self.found
            else f"no {self.branches.prefix}* branch (x on an approved task makes one)"
        )
        self.query_one("#branches-status", Static).update(plain(status))
        self.refresh_bindings()

    def action_state(self, action: str) -> bool | None:
        if action in ("diff", "merge", "delete"):
            return bool(self.found) or None
        return True

    def selected(self) -> BranchInfo | None:
        row = self.query_one(KeyTable).cursor_row
        return self.found[row] if 0 <= row < len(self.found) else None

    def action_diff(self) -> None:
        info = self.selected()
        if info is not None:
            self.app.push_screen(BranchDiffScreen(self.branches, info))

    def action_merge(self) -> None:
        info = self.selected()
        if info is None or self.app.read_only:  # type: ignore[attr-defined]
            return
        target = self.branches.current() or "HEAD"
        question = (
            f"Merge {info.name} ({info.ahead} commit(s)) onto {target}? "
            "This changes your working tree (fast-forward, else cherry-pick)."
        )
        self.app.push_screen(ConfirmScreen(question), lambda yes: self._merge(info, yes))

    def action_delete(self) -> None:
        info = self.selected()
        if info is None or self.app.read_only:  # type: ignore[attr-defined]
            return
        question = f"Delete branch {info.name} ({info.tip[:12]})?"
        self.app.push_screen(ConfirmScreen(question), lambda yes: self._delete(info, yes))

    async def _merge(self, info: BranchInfo, yes: bool | None) -> None:
        if not yes:
            return
        target = self.branches.current() or "HEAD"
        await self._run(lambda: self.branches.merge(info.name).line(target))

    async def _delete(self, info: BranchInfo, yes: bool | None) -> None:
        if not yes:
            return

        def delete() -> str:
            self.branches.delete(info.name)
            return f"deleted {info.name} (was {info.tip[:12]})"

        await self._run(delete)

    async def _run(self, work: Callable[[], str]) -> None:
        try:
            note = await asyncio.to_thread(work)
        except ControlroomError as exc:
            note = str(exc)
            self.notify(note, severity="warning", markup=False)
        else:
            self.notify(note, markup=False)
        await self.reload(note)

    def action_back(self) -> None:
        self.dismiss(None)
