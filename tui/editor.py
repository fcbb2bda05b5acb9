"""The operator's editor at a task's file and line (the Queue pane's ``e``).

The command comes from the operator's environment (``$VISUAL``, else ``$EDITOR``), never from the
repository's configuration: the repository is untrusted, so nothing of it chooses a program to
run. The file must lie inside the repository (a stored path like ``../x`` or a link out is refused).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

# Editors that take FILE:LINE (or --goto FILE:LINE) rather than +LINE FILE.
_GOTO = {"code", "code-insiders", "codium", "cursor"}
_COLON = {"subl", "sublime_text", "zed", "hx", "helix"}


class EditorError(Exception):
    """Why the editor cannot be opened, in one line."""


def editor_argv(env: Mapping[str, str], path: Path, line: int) -> list[str]:
    raw = env.get("VISUAL") or env.get("EDITOR") or ""
    try:
        argv = shlex.split(raw)
    except ValueError as exc:
        raise EditorError(f"cannot read $VISUAL/$EDITOR ({exc})") from None
    if not argv:
        raise EditorError("set $VISUAL or $EDITOR to open files (e.g. EDITOR=vim)")
    name = Path(argv[0]).name
    line = max(1, line)
    if name in _GOTO:
        return [*argv, "--goto", f"{path}:{line}"]
    if name in _COLON:
        return [*argv, f"{path}:{line}"]
    return [*argv, f"+{line}", str(path)]


def file_in_repository(repo: Path, relative: str) -> Path:
    """The absolute file of a stored path, refused when it leaves the repository or is missing."""
    root = repo.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or target == root:
        raise EditorError(f"{relative} is outside the repository: not opened")
    if not target.is_file():
        raise EditorError(f"{relative} is not in the working tree (deleted or renamed?)")
    return target
