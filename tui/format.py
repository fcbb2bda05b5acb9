"""Short text forms for the tables: severity labels that read without colour, ages, paths."""

from __future__ import annotations

from rich.text import Text

SEVERITY_LABELS = {
    "critical": "CRIT",
    "high": "HIGH",
    "medium": "MED",
    "low": "LOW",
    "info": "INFO",
}
SEVERITY_STYLES = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "",
    "info": "dim",
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


def agents_label(agents: list[str], width: int = 7) -> str:
    """'critic', 'crit+1' for two agents."""
    if not agents:
        return "-"
    if len(agents) == 1:
        return agents[0][:width]
    more = f"+{len(agents) - 1}"
    return agents[0][: width - len(more)] + more


def duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 600:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m"
