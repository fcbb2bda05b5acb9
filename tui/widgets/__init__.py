"""Small reusable widgets."""

from controlroom.tui.widgets.key_table import KeyTable

__all__ = ["KeyTable"]
