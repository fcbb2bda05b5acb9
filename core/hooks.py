"""The post-commit hook: analysis of each new commit in the background, never blocking the commit."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

from controlroom.core.errors import ControlroomError, UsageError
from controlroom.core.secrets import child_env

MARKER = "# controlroom post-commit hook"


def hooks_dir(repo: Path) -> Path:
    """Where git looks for hooks (respects core.hooksPath)."""
    out = subprocess.run(
        ["git", "rev-parse", "--git-path", "hooks"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env=child_env(),
    ).stdout.strip()
    path = Path(out)
    return path if path.is_absolute() else (repo / path)


def hook_script(executable: str, repo: Path, db: Path | None, agents: str | None = None) -> str:
    """The post-commit script: reads the new commit's sha at once (cheap, synchronous) and hands
    it to ``controlroom hook run`` detached, so the commit never waits and never fails. The shell
    writes no file itself: the runner logs to ``.controlroom/hook.log`` without following links."""
    command = [executable, "hook", "run", "--repo", str(repo)]
    if db is not None:
        command += ["--db", str(db)]
    if agents:
        command += ["--agents", agents]
    return (
        "#!/bin/sh\n"
        f"{MARKER} (installed by `controlroom hook install`; remove with `controlroom hook uninstall`)\n"
        "# Queues this commit for analysis; one detached runner at a time drains the queue.\n"
        "sha=$(git rev-parse HEAD 2>/dev/null) || exit 0\n"
        f'( nohup {shlex.join(command)} --sha "$sha" </dev/null >/dev/null 2>&1 & ) '
        ">/dev/null 2>&1\n"
        "exit 0\n"
    )


def install(
    repo: Path,
    executable: str,
    *,
    db: Path | None = None,
    force: bool = False,
    agents: str | None = None,
) -> Path:
    target = hooks_dir(repo) / "post-commit"
    if target.exists() and MARKER not in target.read_text(errors="replace") and not force:
        raise UsageError(
            f"{target} exists and is not controlroom's: not overwritten (use --force to replace it)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(hook_script(executable, repo, db, agents), encoding="utf-8")
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return target


def uninstall(repo: Path) -> Path | None:
    target = hooks_dir(repo) / "post-commit"
    if not target.exists():
        return None
    if MARKER not in target.read_text(errors="replace"):
        raise ControlroomError(f"{target} is not controlroom's hook: left in place")
    os.remove(target)
    return target
