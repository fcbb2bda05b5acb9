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


def hook_script(executable: str, repo: Path, db: Path | None) -> str:
    command = [executable, "--run-once", "--repo", str(repo), "--commit", "HEAD", "--quiet"]
    if db is not None:
        command += ["--db", str(db)]
    baseline = [executable, "correlate", "baseline", "HEAD", "--if-enabled", "--repo", str(repo)]
    if db is not None:
        baseline += ["--db", str(db)]
    log = repo / ".controlroom" / "hook.log"
    return (
        "#!/bin/sh\n"
        f"{MARKER} (installed by `controlroom hook install`; remove with `controlroom hook uninstall`)\n"
        "# Runs the analysis detached, so the commit never waits for it and never fails because of it.\n"
        f"mkdir -p {shlex.quote(str(log.parent))} 2>/dev/null\n"
        f"( nohup {shlex.join(command)} >>{shlex.quote(str(log))} 2>&1 & ) >/dev/null 2>&1\n"
        "# The live correlator's baseline, only when correlator.baseline_on_commit is true.\n"
        f"( nohup {shlex.join(baseline)} >>{shlex.quote(str(log))} 2>&1 & ) >/dev/null 2>&1\n"
        "exit 0\n"
    )


def install(repo: Path, executable: str, *, db: Path | None = None, force: bool = False) -> Path:
    target = hooks_dir(repo) / "post-commit"
    if target.exists() and MARKER not in target.read_text(errors="replace") and not force:
        raise UsageError(
            f"{target} exists and is not controlroom's: not overwritten (use --force to replace it)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(hook_script(executable, repo, db), encoding="utf-8")
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
