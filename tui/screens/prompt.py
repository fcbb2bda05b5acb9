"""One-line prompts: the reason for a rejection, the queue filter."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from controlroom.tui.actions import ACTIONS, RegistryActions


class LinePrompt(RegistryActions, ModalScreen[str | None]):
    """Asks for one line. ``enter`` returns the text (maybe empty), ``esc`` returns None."""

    ACTION_SCOPE = "details"
    BINDINGS = ACTIONS.bindings("details")

    def __init__(self, title: str, hint: str, value: str = "", *, placeholder: str = "") -> None:
        super().__init__()
        self.prompt_title = title
        self.hint = hint
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box"):
            yield Static(self.hint, markup=False, id="prompt-hint")
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")

    def on_mount(self) -> None:
        self.query_one("#prompt-box").border_title = self.prompt_title
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_back(self) -> None:
        self.dismiss(None)


def reason_prompt(count: int = 1) -> LinePrompt:
    what = "this task" if count == 1 else f"{count} marked tasks"
    return LinePrompt(
        "Reject",
        f"Reject {what}. Reason (optional), enter to reject, esc to cancel:",
        placeholder="e.g. false positive: input is trusted",
    )


def filter_prompt(current: str) -> LinePrompt:
    return LinePrompt(
        "Filter",
        'Every word must match rule, path, message, symbol or agents; "a phrase"; '
        "rule: path: agent: sev:>=high state:all; -term excludes. Empty clears. esc cancels.",
        current,
        placeholder="e.g. critic S307 -path:tests/",
    )
