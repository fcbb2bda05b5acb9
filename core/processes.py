"""Is a process of this host still running? (Claims, worktrees and workers ask the same question.)"""

from __future__ import annotations

import os
from pathlib import Path


def _stat_fields(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name ([] where unreadable)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return stat.rsplit(")", 1)[-1].split()


def start_ticks(pid: int) -> str:
    """The process's start time in clock ticks (Linux ``/proc``), "" where unknown."""
    fields = _stat_fields(pid)
    return fields[19] if len(fields) > 19 else ""


def process_alive(pid: int, start: str = "") -> bool:
    """True when ``pid`` runs on this host (not a zombie) and, if known, started at ``start``."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _stat_fields(pid)
    if fields and fields[0] in ("Z", "X"):
        return False
    return not start or start_ticks(pid) in ("", start)
