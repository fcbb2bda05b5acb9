"""``L``: what the queue learned. Each learned rule with its evidence and provenance (``d``
deletes it, ``u`` brings the last deletion back), the knowledge base's growth, the fix success
rate per week and the top failure patterns (core/learning_report.py)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static

from controlroom.core.learning_report import (
    FixStats,
    LearnedRule,
    fix_stats,
    forget_rule,
    hidden_by_learning,
    learned_rules,
    undo_forget,
)
from controlroom.tui.actions import ACTIONS, Action, RegistryActions
from controlroom.tui.messages import StoreChanged
from controlroom.tui.widgets.key_table import KeyTable
from controlroom.tui.widgets.sparkline import sparkline

ACTIONS.title_scope("learning", "Learning screen")
ACTIONS.add(
    Action("learning.back", "escape", "back", "Back", scope="learning", key_display="esc",
           palette=False, help="Close the Learning screen"),
    Action("learning.forget", "d", "forget", "Delete rule", scope="learning", mutates=True,
           help="Forget what was learned from the decisions of the selected rule and scope"),
    Action("learning.undo", "u", "undo_forget", "Undo delete", scope="learning", mutates=True,
           help="Bring back the last learned rule deleted here"),
)  # fmt: skip


def summary_text(stats: FixStats, rules: int, hidden: int, below: int = 0) -> Text:
    """The knowledge base in a few plain lines (no meaning carried by colour)."""
    text = Text()
    text.append("Knowledge base ", style="bold")
    if not stats.attempts:
        text.append("empty: no fix attempted yet (x in the queue applies an approved task)\n")
    else:
        growth = [float(n) for _, n, _ in stats.weekly]
        rates = [rate * 100 for _, _, rate in stats.weekly]
        rate = stats.success_rate or 0.0
        text.append(
            f"{stats.attempts} attempts {sparkline(growth, top=max(growth))}  "
            f"fix success {rate:.0%} {sparkline(rates)} (per week)  "
            f"{stats.reverted} reverted\n"
        )
    text.append("Top failures ", style="bold")
    if stats.failures:
        text.append(
            ", ".join(
                f"{pattern}{f' ({detail})' if detail else ''} x{count}"
                for pattern, detail, count in stats.failures[:4]
            )
        )
    else:
        text.append("none")
    text.append(f"\n{rules} learned rules; {hidden} open tasks demoted by learning")
    if below:
        text.append(f", {below} of them below the fold (N in the Queue shows them)")
    return text


class LearningScreen(RegistryActions, Screen[None]):
    ACTION_SCOPE = "learning"
    BINDINGS = ACTIONS.bindings("learning")
    DEFAULT_CSS = """
    LearningScreen #learning-rules { height: 1fr; border: round $primary; }
    LearningScreen #learning-summary { height: auto; max-height: 6; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rules: list[LearnedRule] = []

    def compose(self) -> ComposeResult:
        table = KeyTable(id="learning-rules", zebra_stripes=False)
        table.border_title = "Learning: rules learned from your decisions"
        yield table
        yield Static("Loading ...", id="learning-summary", markup=False)
        yield Footer(show_command_palette=False)

    async def on_mount(self) -> None:
        table = self.query_one(KeyTable)
        table.add_column("rule", width=9)
        table.add_column("scope", width=22)
        table.add_column("+/-", width=7)
        table.add_column("from", width=12)
        table.add_column("by kind", width=24)
        table.add_column("effect now")
        table.focus()
        await self.reload()

    async def reload(self) -> None:
        store, config = self.app.store, self.app.workspace.config  # type: ignore[attr-defined]
        now = self.app.clock()  # type: ignore[attr-defined]
        self.rules = await learned_rules(store, config, now=now)
        stats = await fix_stats(store)
        hidden = await store.fetchval(
            "SELECT count(*) FROM tasks WHERE state IN ('pending', 'snoozed') "
            "AND confidence_reason LIKE '%learning: -%'"
        )
        below = await hidden_by_learning(store, config)
        table = self.query_one(KeyTable)
        row = table.cursor_row
        table.clear()
        for rule in self.rules:
            table.add_row(
                rule.rule, rule.scope, f"+{rule.approved}/-{rule.rejected}",
                rule.sources, rule.kinds or "-", rule.effect.split(",")[0] or "-",
            )  # fmt: skip
        if self.rules:
            table.move_cursor(row=min(row, len(self.rules) - 1))
        self.query_one("#learning-summary", Static).update(
            summary_text(stats, len(self.rules), int(hidden or 0), below)
        )
        self.refresh_bindings()

    def action_state(self, action: str) -> bool | None:
        if action == "forget":
            return bool(self.rules) or None
        return True

    def selected(self) -> LearnedRule | None:
        row = self.query_one(KeyTable).cursor_row
        return self.rules[row] if 0 <= row < len(self.rules) else None

    async def action_forget(self) -> None:
        rule = self.selected()
        if rule is None:
            return
        config = self.app.workspace.config  # type: ignore[attr-defined]
        await forget_rule(self.app.store, rule.rule, rule.dir, rule.test, config)  # type: ignore[attr-defined]
        self.notify(f"forgot {rule.rule} in {rule.scope} (u brings it back)")
        await self.reload()
        self.app.post_message(StoreChanged("operator"))

    async def action_undo_forget(self) -> None:
        config = self.app.workspace.config  # type: ignore[attr-defined]
        restored = await undo_forget(self.app.store, config)  # type: ignore[attr-defined]
        self.notify(f"{restored} decisions learned again" if restored else "nothing to undo")
        await self.reload()
        if restored:
            self.app.post_message(StoreChanged("operator"))

    def action_back(self) -> None:
        self.dismiss(None)
