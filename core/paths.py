"""Where controlroom keeps its files, in one place."""

from __future__ import annotations

from pathlib import Path

STATE_DIR_NAME = ".controlroom"


def state_dir(repo: Path) -> Path:
    """``<repo>/.controlroom``, created with a ``.gitignore`` of ``*`` so git never shows it."""
    folder = repo / STATE_DIR_NAME
    folder.mkdir(mode=0o700, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    return folder


def default_db_path(repo: Path) -> Path:
    return state_dir(repo) / "state.db"
