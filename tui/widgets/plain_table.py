"""A DataTable whose cells are data: a ``str`` cell is never parsed as markup.

Textual's DataTable reads a ``str`` cell or label with ``Text.from_markup``, so a commit subject
``[/] fix`` raises MarkupError and ``[skip ci]`` vanishes. Here every ``str``/``Text`` cell and
label goes through ``tui.format.cell`` (plain text, control characters escaped, one line).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import CellType, ColumnKey, RowKey

from controlroom.tui.format import cell


def _plain(value: Any) -> Any:
    return cell(value) if isinstance(value, str | Text) else value


class PlainTable(DataTable):
    """``DataTable`` with plain-text cells, column labels and row labels."""

    def add_column(
        self,
        label: Any,
        *,
        width: int | None = None,
        key: str | None = None,
        default: CellType | None = None,
    ) -> ColumnKey:
        return super().add_column(_plain(label), width=width, key=key, default=_plain(default))

    def add_row(
        self,
        *cells: CellType,
        height: int | None = 1,
        key: str | None = None,
        label: Any = None,
    ) -> RowKey:
        return super().add_row(
            *(_plain(c) for c in cells), height=height, key=key, label=_plain(label)
        )

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: CellType,
        *,
        update_width: bool = False,
    ) -> None:
        super().update_cell(row_key, column_key, _plain(value), update_width=update_width)

    def update_cell_at(
        self, coordinate: Coordinate, value: CellType, *, update_width: bool = False
    ) -> None:
        super().update_cell_at(coordinate, _plain(value), update_width=update_width)
