"""Small reusable widgets."""

from controlroom.tui.widgets.key_table import KeyTable
from controlroom.tui.widgets.plain_table import PlainTable

__all__ = ["KeyTable", "PlainTable"]
