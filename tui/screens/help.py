"""The ``?`` screen: every key, from the action registry, grouped by where it works."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from controlroom.tui.actions import ACTIONS, RegistryActions, is_read_only

_EXTRA_KEYS = {
    "table": [("up/down", "Move"), ("pgup/pgdn", "Page"), ("enter", "Details")],
    "app": [("tab", "Next widget"), ("esc", "Close a prompt or screen")],
}


def help_text(read_only: bool) -> str:
    """The help as plain text (keys in a fixed column, so it reads without colour)."""
    lines: list[str] = []
    if read_only:
        lines += ["Read-only mode: keys that change the store are switched off.", ""]
    for scope in ACTIONS.scopes():
        actions = ACTIONS.visible([scope], read_only=read_only)
        if not actions:
            continue
        lines.append(ACTIONS.title(scope))
        for action in actions:
            text = action.description + (f": {action.help}" if action.help else "")
            lines.append(f"  {action.display_keys:<10} {text}")
        lines += [f"  {keys:<10} {text}" for keys, text in _EXTRA_KEYS.get(scope, [])]
        lines.append("")
    return "\n".join(lines).rstrip()


class HelpScreen(RegistryActions, ModalScreen[None]):
    """Modal list of keys; ``esc`` (or ``?``) closes it."""

    ACTION_SCOPE = "details"
    BINDINGS = ACTIONS.bindings("details")

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(help_text(is_read_only(self.app)), markup=False, id="help-text")

    def on_mount(self) -> None:
        body = self.query_one("#help-body")
        body.border_title = "Keys (esc closes)"
        body.focus()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_scroll_body(self, lines: int) -> None:
        self.query_one("#help-body").scroll_relative(y=lines, animate=False)

    def action_help(self) -> None:
        self.dismiss(None)
