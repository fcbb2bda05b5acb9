"""A full screen of read-only text sections with ``esc`` back; task and commit details build on it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from controlroom.tui.actions import ACTIONS, RegistryActions
from controlroom.tui.format import plain


class DetailsScreen(RegistryActions, Screen[None]):
    """Subclasses implement ``async load() -> list[Text | str]``: the sections, top to bottom.

    Sections are repository text: shown as plain text (a ``str`` is never markup) with control
    characters escaped; a ``Text`` section keeps its styles.
    """

    ACTION_SCOPE = "details"
    BINDINGS = ACTIONS.bindings("details")
    heading = "Details"

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="details-body"):
            yield Static("Loading ...", id="details-text", markup=False)
        yield Footer(show_command_palette=False)

    async def on_mount(self) -> None:
        body = self.query_one("#details-body")
        body.border_title = self.heading
        body.focus()
        try:
            sections = await self.load()
        except Exception as exc:  # the store or git failed: say so, stay usable
            sections = [f"Could not load the details: {type(exc).__name__}: {exc}"]
        text = Text()
        for index, section in enumerate(sections):
            if index:
                text.append("\n\n")
            text.append_text(plain(section))
        self.query_one("#details-text", Static).update(text)

    async def load(self) -> list[Text | str]:
        raise NotImplementedError

    def action_back(self) -> None:
        self.dismiss(None)

    def action_scroll_body(self, lines: int) -> None:
        self.query_one("#details-body").scroll_relative(y=lines, animate=False)


def heading(title: str) -> Text:
    """A section title: bold and underlined by '=' so it reads without colour too."""
    return Text.assemble((title, "bold"), "\n", "=" * min(len(title), 76))
