"""Text sparklines and the Convergence pane's header strip, readable without colour."""

from __future__ import annotations

from typing import Any

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 12, top: float = 100.0) -> str:
    """The last ``width`` values (0..top) as block characters."""
    shown = values[-width:]
    return "".join(
        BLOCKS[min(len(BLOCKS) - 1, int(max(0.0, v) / top * len(BLOCKS)))] for v in shown
    )


def strip_text(data: dict[str, Any], width: int = 200) -> str:
    """One line of at most ``width`` characters: velocity, conventional %, and CPU/memory
    sparklines with their latest value; narrower sparklines, then fewer parts, when it is tight."""
    for spark, conventional in ((12, True), (8, True), (8, False), (6, False)):
        line = _strip(data, spark, conventional)
        if len(line) <= width:
            return line
    return line[: max(0, width - 1)] + "…" if width > 0 else ""


def _strip(data: dict[str, Any], spark: int, conventional: bool) -> str:
    parts = []
    velocity = data.get("velocity")
    if velocity:
        parts.append(f"{velocity['per_day']:.1f} commits/day ({data['window_days']}d)")
    if conventional and data.get("conventional_percent") is not None:
        parts.append(f"conventional {data['conventional_percent']:.0f}%")
    for name in ("cpu", "memory"):
        values = data.get(name) or []
        if values:
            parts.append(f"{name} {sparkline(values, spark)} {values[-1]:.0f}%")
    if not data.get("cpu"):
        parts.append("no metrics sampled yet")
    return " · ".join(parts)
