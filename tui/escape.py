"""The one rule for repository text on a terminal: plain text with every control character written
out as an escape. Kept free of Rich so a CLI command that prints lines does not import it."""

from __future__ import annotations

import re

# -- repository text is data: never markup, never terminal control -------------------------------
# C0 controls, DEL, C1 controls (ESC, CSI 0x9b, OSC 0x9d, BEL, CR, ...), and the invisible
# direction/line-separator characters that can make text read differently from what it is.
_INVISIBLE = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
UNSAFE_MULTILINE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")
UNSAFE_ONE_LINE = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f{_INVISIBLE}]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def escape_control(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(value: object, *, multiline: bool = True) -> str:
    """``str(value)`` with every control character written out as an escape (``\\x1b``).

    Tabs stay; newlines stay when ``multiline`` (``\\r\\n`` becomes ``\\n``), else they show as
    ``\\n`` so one field stays on one line.
    """
    text = str(value)
    if multiline:
        text = text.replace("\r\n", "\n")
        return UNSAFE_MULTILINE.sub(escape_control, text)
    return UNSAFE_ONE_LINE.sub(escape_control, text)


def terminal_safe(value: object, *, multiline: bool = False) -> str:
    """Repository or store text for a CLI line: controls escaped, one field on one line."""
    return visible(value, multiline=multiline)
