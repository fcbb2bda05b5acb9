"""Short text forms for the tables (severity labels that read without colour, ages, paths) and the
one rule for repository text: plain text, never markup, control characters escaped
(``plain``/``cell`` for widgets; ``terminal_safe``, in tui/escape.py, for the CLI)."""

from __future__ import annotations

from rich.text import Text

from controlroom.tui.escape import (
    UNSAFE_MULTILINE,
    UNSAFE_ONE_LINE,
    escape_control,
    visible,
)

SEVERITY_LABELS = {
    "critical": "CRIT",
    "high": "HIGH",
    "medium": "MED",
    "low": "LOW",
    "info": "INFO",
}
# Weight, reverse video and slant carry the level without colour (NO_COLOR): CRIT bold reverse,
# HIGH bold, MED plain, LOW and INFO italic (Textual draws dim as a shade, so dim alone would be
# colour again); the colour only repeats it.
SEVERITY_STYLES = {
    "critical": "bold reverse red",
    "high": "bold red",
    "medium": "yellow",
    "low": "italic",
    "info": "dim italic",
}


def severity_label(severity: str) -> str:
    return SEVERITY_LABELS.get(str(severity), str(severity)[:4].upper())


def severity_cell(severity: str) -> Text:
    """The label carries the meaning; the colour only repeats it."""
    return Text(severity_label(severity), style=SEVERITY_STYLES.get(str(severity), ""))


def age(now: float, then: float) -> str:
    """ "45s", "12m", "5h", "3d", "11w"."""
    seconds = max(0, int(now - then))
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def left_truncate(text: str, width: int) -> str:
    """Keep the end (the file name and line), drop the start: '…/views.py:12'."""
    return text if len(text) <= width else "\u2026" + text[-(width - 1) :]


def agents_label(agents: list[str], width: int = 8) -> str:
    """'critic,tests' when it fits in ``width``, else 'critic+1' (the first name cut to fit)."""
    if not agents:
        return "-"
    joined = ",".join(agents)
    if len(joined) <= width:
        return joined
    more = f"+{len(agents) - 1}" if len(agents) > 1 else ""
    return agents[0][: max(1, width - len(more))] + more


def middle_path(path: str, line: int, width: int) -> str:
    """``path:line`` in ``width`` characters, cut in the middle: the first directory and the file
    name stay (``src/…/module.py:42``), with as many directories before the file as fit."""
    full = f"{path}:{line}"
    if len(full) <= width:
        return full
    parts = path.split("/")
    tail = f"{parts[-1]}:{line}"
    if len(parts) > 1:
        head = parts[0] + "/\u2026/"
        if len(head) + len(tail) <= width:
            for directory in reversed(parts[1:-1]):
                longer = f"{directory}/{tail}"
                if len(head) + len(longer) > width:
                    break
                tail = longer
            return head + tail
        room = width - len(tail) - 2
        if room >= 1:  # a start of the first directory still tells src from tests
            return parts[0][:room] + "\u2026/" + tail
    return left_truncate(tail, width)


def duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 600:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m"


def safe_text(text: Text, *, multiline: bool = True) -> Text:
    """``text`` with its control characters escaped and its styles kept where they were.

    (Rich already drops BEL, BS, VT, FF and CR when a ``Text`` is built; ESC and the rest stay.)
    """
    pattern = UNSAFE_MULTILINE if multiline else UNSAFE_ONE_LINE
    source = text.plain
    if not pattern.search(source):
        return text
    out = text.blank_copy()
    position = 0
    for match in pattern.finditer(source):
        out.append_text(text[position : match.start()])
        shown = Text(escape_control(match))
        for span in text[match.start() : match.end()].spans:
            shown.stylize(span.style)
        out.append_text(shown)
        position = match.end()
    out.append_text(text[position:])
    return out


def plain(value: object, style: str = "", *, multiline: bool = True) -> Text:
    """Any text for a widget, as a Rich ``Text``: never parsed as markup, controls escaped.

    A ``Text`` keeps its styles; anything else goes through ``str()``.
    """
    if isinstance(value, Text):
        text = safe_text(value, multiline=multiline)
        if style:
            text = text.copy()
            text.stylize(style)
        return text
    return Text(visible(value, multiline=multiline), style=style)


def cell(value: object, width: int | None = None, style: str = "") -> Text:
    """One table cell: newlines read as spaces, controls escaped, cut to ``width`` characters."""
    if not isinstance(value, Text):
        one_line = visible(str(value).replace("\r\n", " ").replace("\n", " "), multiline=False)
        if width is not None:
            one_line = one_line[:width]
        # As DataTable builds a str cell: one line, no trailing newline.
        return Text(one_line, style=style, no_wrap=True, end="")
    text = value
    if "\n" in text.plain:
        text = text.copy()
        text.plain = text.plain.replace("\n", " ")  # same length: the spans stay put
    text = safe_text(text, multiline=False)
    if style:
        text = text.copy()
        text.stylize(style)
    if width is not None and len(text) > width:
        no_wrap, end = text.no_wrap, text.end
        text = text[:width]
        text.no_wrap, text.end = no_wrap, end
    return text


def savings_sentence(report: dict, money) -> str | None:
    """The saving against all-Sonnet in words, the same in the pane and ``controlroom costs``;
    a negative saving says what it cost more. None when the Sonnet model is unpriced."""
    saved, baseline = report.get("savings_usd"), report.get("baseline_sonnet_usd")
    if saved is None or baseline is None:
        return None
    window = report.get("savings_window", "30 days")
    if saved < 0:
        text = f"Cost {money(-saved)} more than all-Sonnet"
    else:
        text = f"Saved {money(saved)} vs all-Sonnet"
    return f"{text}, last {window} (all-Sonnet would cost {money(baseline)})"


def nice_ticks(maximum: float, intervals: int = 4) -> list[float]:
    """``intervals + 1`` evenly spaced axis ticks from 0 covering ``maximum``, in steps of 1, 2,
    2.5 or 5 x 10^k."""
    import math

    intervals = max(1, intervals)
    if maximum <= 0 or not math.isfinite(maximum):
        maximum = float(intervals)
    raw = maximum / intervals
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    return [round(i * step, 10) for i in range(intervals + 1)]


def tick_intervals(rows: int) -> int:
    """How many intervals put a y tick on every row, or every k-th: a divisor of ``rows - 1``
    from 2 to 6 (the chart's rows are whole: uneven gaps would look like a skipped tick)."""
    gaps = max(1, rows - 1)
    return next((n for n in (6, 5, 4, 3, 2) if gaps % n == 0), min(gaps, 6))


def readable(value: object, indent: int = 0) -> str:
    """A JSON-like value for people: ``key: value`` lines (nested tables indented), lists of
    plain values joined with commas, numbers rounded, yes/no for booleans; empty values left out.
    Never JSON syntax (no braces, quotes or ``null``)."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if item in (None, "", [], {}):
                continue
            label = str(key).replace("_", " ")
            if isinstance(item, dict) or (
                isinstance(item, list) and any(isinstance(i, dict | list) for i in item)
            ):
                lines.append(f"{pad}{label}:\n{readable(item, indent + 1)}")
            else:
                lines.append(f"{pad}{label}: {readable(item)}")
        return "\n".join(lines)
    if isinstance(value, list | tuple):
        if any(isinstance(i, dict | list) for i in value):
            return "\n".join(f"{pad}- {readable(i, indent + 1).lstrip()}" for i in value)
        return ", ".join(readable(i) for i in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
    return str(value)
