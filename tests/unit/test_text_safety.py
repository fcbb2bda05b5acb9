"""tui.format's one rule for repository text: controls escaped, markup never parsed, styles kept."""

from __future__ import annotations

from rich.text import Text

from controlroom.tui.escape import terminal_safe, visible
from controlroom.tui.format import cell, plain, safe_text


def test_visible_escapes_c0_c1_and_invisible_direction_marks():
    assert (
        visible("a\x1b[31mb\x07c\x00d\x7f\x9b\u202e") == "a\\x1b[31mb\\x07c\\x00d\\x7f\\x9b\\u202e"
    )
    assert visible("one\ntwo\tthree\r\nfour\rfive") == "one\ntwo\tthree\nfour\\rfive"
    assert visible("[/] fix [skip ci]") == "[/] fix [skip ci]"  # markup-looking text is untouched


def test_terminal_safe_keeps_one_field_on_one_line():
    assert terminal_safe("a\nb\tc\x1b]52;c;eA==\x07") == "a\\nb\tc\\x1b]52;c;eA==\\x07"
    assert terminal_safe("doc\n\x1b[2J", multiline=True) == "doc\n\\x1b[2J"


def test_plain_is_never_markup():
    text = plain("[bold red]x[/] [link=x]y")
    assert text.plain == "[bold red]x[/] [link=x]y" and not text.spans


def test_safe_text_keeps_styles_around_escapes():
    styled = Text.assemble(("ab\x1bc", "bold"), "d")
    safe = safe_text(styled)
    assert safe.plain == "ab\\x1bcd"
    assert all(span.style == "bold" for span in safe.spans)
    assert {i for s in safe.spans for i in range(s.start, s.end)} == set(range(7))
    clean = Text("no controls")
    assert safe_text(clean) is clean


def test_cell_is_one_plain_line_cut_after_escaping():
    assert cell("[/] fix\nmore").plain == "[/] fix more"
    assert cell("\x1b[2Jabc", 6).plain == "\\x1b[2"
    assert cell(Text("x\ny", style="bold")).plain == "x y"
