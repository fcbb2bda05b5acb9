"""Small reusable widgets."""

from tui.widgets.key_table import KeyTable

__all__ = ["KeyTable"]
