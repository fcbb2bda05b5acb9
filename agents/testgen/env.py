"""Which Python runs the repository's code: the project's own environment, found in a fixed order.

1. ``tests.python`` (operator config only: a repository's own config cannot set it, see
   ``core/privileged.py``);
2. the repository's ``.venv``, then ``venv`` (uv makes ``.venv`` too): only an untracked real
   directory with a ``pyvenv.cfg``, whose interpreter lives outside the repository, so that a
   commit cannot ship an interpreter or a ``.venv`` link of its own;
3. poetry's environment (``poetry env info -p``), only when poetry is installed and the
   repository's ``pyproject.toml`` has ``[tool.poetry]``;
4. controlroom's own interpreter.

Nothing here runs the chosen interpreter: its prefixes (the venv, its base installation) are read
from the file system and ``pyvenv.cfg``, and bound read-only into the sandbox.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OWN = "controlroom's own"
POETRY_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Environment:
    python: str  # the interpreter's path, as run (a venv's bin/python, not its target)
    source: str  # tests.python | repository .venv | repository venv | poetry | controlroom's own
    prefixes: tuple[str, ...] = field(default=())  # bound read-only in the sandbox

    @property
    def own(self) -> bool:
        return self.source == OWN

    def as_dict(self) -> dict[str, Any]:
        return {"python": self.python, "source": self.source, "prefixes": list(self.prefixes)}

    def label(self) -> str:
        return f"{self.source} ({self.python})"


def own_environment() -> Environment:
    return Environment(sys.executable, OWN, ())


def find_environment(repo: Path | None, config: dict[str, Any]) -> tuple[Environment, list[str]]:
    """The environment to run the repository's code with, and notes on candidates refused.

    ``repo`` is the user's repository (never a scratch worktree: git runs there); None looks
    only at ``tests.python``."""
    notes: list[str] = []
    configured = str(config.get("python") or "")
    if configured:
        path = Path(configured).expanduser()
        if path.is_absolute() and os.access(path, os.X_OK) and path.is_file():
            return Environment(str(path), "tests.python", _prefixes(path)), notes
        notes.append(f"tests.python = {configured!r} is not an executable absolute path: ignored")
    if repo is None:
        return own_environment(), notes
    for name in (".venv", "venv"):
        env, why = _repository_venv(repo, name)
        if env is not None:
            return env, notes
        if why:
            notes.append(f"tests: repository {name} not used: {why}")
    poetry = _poetry(repo)
    if poetry is not None:
        return poetry, notes
    return own_environment(), notes


def _repository_venv(repo: Path, name: str) -> tuple[Environment | None, str | None]:
    folder = repo / name
    if not folder.is_dir() and not folder.is_symlink():
        return None, None
    if folder.is_symlink():
        return None, "it is a symbolic link"
    if not (folder / "pyvenv.cfg").is_file():
        return None, None  # not a virtual environment, just a folder of that name
    python = folder / "bin" / "python"
    if not python.exists():
        return None, "no bin/python"
    if _tracked(repo, name):
        return None, "it is part of the repository's commits"
    if Path(os.path.realpath(python)).is_relative_to(repo.resolve()):
        return None, "its interpreter is a file inside the repository"
    return Environment(str(python), f"repository {name}", _prefixes(python)), None


def _tracked(repo: Path, name: str) -> bool:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "ls-files", "--", name],
            capture_output=True,
            timeout=POETRY_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return True  # cannot tell: do not trust it
    return done.returncode != 0 or bool(done.stdout.strip())


def _poetry(repo: Path) -> Environment | None:
    program = shutil.which("poetry")
    pyproject = repo / "pyproject.toml"
    if program is None or not pyproject.is_file():
        return None
    try:
        if "[tool.poetry]" not in pyproject.read_text(encoding="utf-8", errors="replace"):
            return None
        done = subprocess.run(
            [program, "env", "info", "-p"],
            cwd=repo,
            capture_output=True,
            timeout=POETRY_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    folder = Path(done.stdout.decode("utf-8", "replace").strip() or "/nonexistent")
    python = folder / "bin" / "python"
    if done.returncode or not (folder / "pyvenv.cfg").is_file() or not python.exists():
        return None
    return Environment(str(python), "poetry", _prefixes(python))


def _prefixes(python: Path) -> tuple[str, ...]:
    """The venv (when ``python`` is in one), its base installation, and the real interpreter's
    installation: what the sandbox binds read-only so that the interpreter starts."""
    found: list[Path] = []
    venv = python.parent.parent
    config = venv / "pyvenv.cfg"
    if config.is_file():
        found.append(venv)
        for line in config.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                found.append(Path(value.strip()).parent)
    found.append(Path(os.path.realpath(python)).parent.parent)
    kept = [str(p) for p in found if p.is_absolute() and p != Path("/") and p.is_dir()]
    return tuple(dict.fromkeys(kept))


TOOLS = ("pytest", "hypothesis")
_PROBE = (
    "import importlib.util as u, os\n"
    "os.write(3, ' '.join(m for m in {tools!r} if u.find_spec(m) is None).encode())\n"
)


async def missing_tools(worktree: Path, box: Path, limits: Any) -> list[str] | None:
    """Which of pytest and Hypothesis the environment of ``limits`` cannot import, asked in the
    sandbox (a venv's ``.pth`` files run at start-up); None when the probe itself failed."""
    from controlroom.agents.testgen.sandbox import run_sandboxed

    result = await run_sandboxed(
        box,
        mode="exec",
        writable=[worktree],
        limits=limits,
        python_path=[],
        cwd=worktree,
        argv=[limits.interpreter, "-c", _PROBE.format(tools=TOOLS)],
    )
    if result.timed_out or result.returncode != 0:
        return None
    return result.report.split()
