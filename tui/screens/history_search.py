"""``H``: search the analyzed history (commits, hunks, findings, decisions), ranked by BM25, the
same search as ``controlroom history search`` (core/history_search.py); ``m`` switches to ranking
by meaning (``--semantic``, core/history_semantic.py) and back."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from controlroom.core.errors import ControlroomError
from controlroom.core.history_search import Hit, search
from controlroom.core.history_semantic import semantic_search
from controlroom.tui.actions import ACTIONS, Action, RegistryActions
from controlroom.tui.widgets.key_table import KeyTable

ACTIONS.title_scope("history", "History search screen")
ACTIONS.add(
    Action("history.back", "escape", "back", "Back", scope="history", key_display="esc",
           palette=False, help="Close the history search"),
    Action("history.query", "slash", "query", "Search", scope="history", key_display="/",
           help="Type words to search for (enter searches)"),
    Action("history.mode", "m", "mode", "Words/meaning", scope="history",
           help="Rank by shared words (BM25) or by meaning (the optional semantic extra)"),
)  # fmt: skip
PLACEHOLDER = {
    False: "search commits, hunks, findings, decisions (by words; m: by meaning)",
    True: "search commits, hunks, findings, decisions (by meaning; m: by words)",
}


class HistorySearchScreen(RegistryActions, Screen[None]):
    ACTION_SCOPE = "history"
    BINDINGS = ACTIONS.bindings("history")
    DEFAULT_CSS = """
    HistorySearchScreen #history-results { height: 1fr; }
    HistorySearchScreen #history-snippet { height: 2; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[Hit] = []
        self.semantic = False
        self.last_query = ""

    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER[False], id="history-input")
        yield KeyTable(id="history-results")
        yield Static("", id="history-snippet", markup=False)
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(KeyTable)
        table.add_column("kind", width=8)
        table.add_column("commit", width=10)
        table.add_column("date", width=10)
        table.add_column("where / what")
        self.query_one(Input).focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        await self._search(event.value.strip())

    async def _search(self, query: str) -> None:
        self.last_query = query
        table = self.query_one(KeyTable)
        table.clear()
        find = semantic_search if self.semantic else search
        try:
            self.hits = await find(self.app.store, query, limit=100) if query else []  # type: ignore[attr-defined]
        except ControlroomError as exc:  # the semantic extra is not installed
            self.hits = []
            self.query_one("#history-snippet", Static).update(str(exc))
            return
        for hit in self.hits:
            where = f"{hit.path}:{hit.line}" if hit.line else hit.path
            table.add_row(
                hit.kind, (hit.commit or "")[:10],
                datetime.fromtimestamp(hit.at, UTC).strftime("%Y-%m-%d"),
                f"{where}  {hit.title if hit.title != where else ''}".strip(),
            )  # fmt: skip
        note = f"{len(self.hits)} results" if query else ""
        self.query_one("#history-snippet", Static).update(
            note if self.hits or not query else "no match"
        )
        if self.hits:
            table.focus()
            self._show(0)

    def on_data_table_row_highlighted(self, event: KeyTable.RowHighlighted) -> None:
        self._show(event.cursor_row)

    def _show(self, row: int) -> None:
        if 0 <= row < len(self.hits):
            self.query_one("#history-snippet", Static).update(self.hits[row].snippet)

    def action_query(self) -> None:
        field = self.query_one(Input)
        field.value = ""
        field.focus()

    async def action_mode(self) -> None:
        """Switch between ranking by words and by meaning, and search again."""
        self.semantic = not self.semantic
        self.query_one(Input).placeholder = PLACEHOLDER[self.semantic]
        if self.last_query:
            await self._search(self.last_query)

    def action_back(self) -> None:
        self.dismiss(None)
