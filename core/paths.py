"""Where controlroom keeps its files, in one place."""

from __future__ import annotations

from pathlib import Path

from controlroom.core.statedir import STATE_DIR_NAME, private_file
from controlroom.core.statedir import state_dir as state_dir

__all__ = ["STATE_DIR_NAME", "default_db_path", "hook_log_path", "state_dir"]


def default_db_path(repo: Path) -> Path:
    """``<repo>/.controlroom/state.db``, created 0600 without following a planted link."""
    return private_file(state_dir(repo) / "state.db")


def hook_log_path(repo: Path) -> Path:
    return state_dir(repo) / "hook.log"
