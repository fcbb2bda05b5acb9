"""An honest empty state: says what is (not) there and what would fill it. Never shows made-up rows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from controlroom.tui.format import plain


class EmptyState(Vertical):
    """A title and one or two sentences, centred. Used for missing panes and empty tables."""

    DEFAULT_CSS = """
    EmptyState {
        height: 1fr;
        align: center middle;
    }
    EmptyState > .empty-title {
        width: auto;
        max-width: 76;
        text-style: bold;
        padding: 0 1;
    }
    EmptyState > .empty-text {
        width: auto;
        max-width: 76;
        padding: 0 1;
    }
    """

    def __init__(
        self, title: str, text: str, *, id: str | None = None, focusable: bool = False
    ) -> None:
        super().__init__(id=id)
        # Focusable where it stands in for a table, so the pane's keys (/, u) still reach it.
        self.can_focus = focusable
        self.title = title
        self.text = text

    def compose(self) -> ComposeResult:
        yield Static(plain(self.title), classes="empty-title", markup=False)
        yield Static(plain(self.text), classes="empty-text", markup=False)

    def update(self, title: str, text: str) -> None:
        self.title, self.text = title, text
        if self.is_mounted:
            self.query_one(".empty-title", Static).update(plain(title))
            self.query_one(".empty-text", Static).update(plain(text))

    async def refresh_data(self) -> None:
        """Nothing to reload: an empty state has no data."""
