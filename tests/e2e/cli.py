"""Running the installed ``controlroom`` command as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CONTROLROOM = str(Path(sys.executable).with_name("controlroom"))


def cli_env(**extra: str) -> dict[str, str]:
    # No API key reaches the command; bytecode is cached so each start does not recompile.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ANTHROPIC_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(extra)
    return env


def run(*args: str, cwd: Path | None = None, timeout: float = 180, **env: str):
    return subprocess.run(
        [CONTROLROOM, *args],
        cwd=cwd,
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_json(
    *args: str, cwd: Path | None = None, **env: str
) -> tuple[dict, subprocess.CompletedProcess]:
    result = run(*args, "--json", cwd=cwd, **env)
    assert result.stdout, result.stderr
    return json.loads(result.stdout), result
