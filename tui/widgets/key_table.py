"""A plain-text DataTable with the registry's table keys (j/k/g/G) and a row cursor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from controlroom.tui.actions import ACTIONS, RegistryActions
from controlroom.tui.widgets.plain_table import PlainTable


class KeyTable(RegistryActions, PlainTable):
    """``j``/``k`` move, ``g``/``G`` jump to the first/last row; ``enter`` is left to the pane.

    A table showing a window of a larger list sets ``jump_handler(to_end)`` so ``g``/``G`` reach
    the ends of the whole list, not just of the rows loaded.
    """

    ACTION_SCOPE = "table"
    BINDINGS = ACTIONS.bindings("table")

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        super().__init__(**kwargs)
        self.jump_handler: Callable[[bool], Awaitable[None]] | None = None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # enter belongs to the pane (its registry action, shown in the footer); a mouse click
        # still selects a row (RowSelected).
        if action == "select_cursor":
            return False
        return super().check_action(action, parameters)

    async def action_first_row(self) -> None:
        if self.jump_handler is not None:
            await self.jump_handler(False)
        elif self.row_count:
            self.move_cursor(row=0)

    async def action_last_row(self) -> None:
        if self.jump_handler is not None:
            await self.jump_handler(True)
        elif self.row_count:
            self.move_cursor(row=self.row_count - 1)
