"""Run repository code in a confined subprocess: the only way the tests agent executes it.

The child (``agents/sandbox_child.py``) gets a clean environment (``HOME`` and ``TMPDIR`` inside the
sandbox directory, no API keys), its own session (so the whole process group can be killed), rlimits
(CPU, address space, file size, processes) and, where the kernel has Landlock, no write access outside
the temporary worktree. Output goes to a file (bounded by the file-size limit), never into our memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

CHILD = Path(__file__).with_name("sandbox_child.py")
MARKER = "CONTROLROOM_SANDBOX"
OUTPUT_TAIL = 4000


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits of one sandboxed run (``[tests]`` config keys)."""

    timeout: float = 60.0
    memory_mb: int = 2048
    max_file_mb: int = 64
    max_processes: int = 64

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Limits:
        return cls(
            timeout=float(config.get("timeout", 60.0)),
            memory_mb=int(config.get("memory_mb", 2048)),
            max_file_mb=int(config.get("max_file_mb", 64)),
            max_processes=int(config.get("max_processes", 64)),
        )


@dataclass(slots=True)
class SandboxResult:
    returncode: int | None  # None: killed on timeout
    timed_out: bool
    duration_s: float
    output: str  # the last OUTPUT_TAIL characters of stdout+stderr
    confinement: str  # "landlock abi N" or "unavailable (...)": rlimits only
    extra_files: dict[str, str] = field(default_factory=dict)


def clean_env(box: Path, python_path: list[str], token: str) -> dict[str, str]:
    """Only what a test run needs: no API keys, no user HOME, no inherited PYTHON* settings."""
    home, tmp = box / "home", box / "tmp"
    home.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join(python_path),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",  # progress survives a kill or os._exit
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "NO_COLOR": "1",
        MARKER: token,
    }


async def run_sandboxed(
    box: Path,
    *,
    mode: str,
    writable: list[Path],
    limits: Limits,
    python_path: list[str],
    cwd: Path,
    argv: list[str] | None = None,
    request: dict[str, Any] | None = None,
    read_back: tuple[str, ...] = (),
) -> SandboxResult:
    """Run the child in ``box`` (``mode`` "exec" with ``argv`` or "ghostwrite" with ``request``)."""
    box.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(8)
    spec = {
        "mode": mode,
        "argv": argv or [],
        "request": request or {},
        "cwd": str(cwd),
        "writable": [str(p) for p in writable] + ["/dev/null"],
        "limits": {
            "cpu_seconds": max(1, int(limits.timeout) + 2),
            "memory_mb": limits.memory_mb,
            "max_file_mb": limits.max_file_mb,
            "max_processes": limits.max_processes,
        },
        "status_path": str(box / "sandbox-status.txt"),
        "result_path": str(box / "ghostwrite.json"),
    }
    spec_path = box / "sandbox-spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    output_path = box / "output.txt"
    started = time.perf_counter()
    timed_out = False
    with output_path.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",
            str(CHILD),
            str(spec_path),
            cwd=str(cwd),
            env=clean_env(box, python_path, token),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            await asyncio.wait_for(proc.wait(), limits.timeout)
        except TimeoutError:
            timed_out = True
        finally:  # also on cancellation: never leave a child behind
            _kill_group(proc.pid)
            await asyncio.to_thread(_sweep, token)
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
    return SandboxResult(
        returncode=None if timed_out else proc.returncode,
        timed_out=timed_out,
        duration_s=round(time.perf_counter() - started, 3),
        output=_tail(output_path),
        confinement=_read(box / "sandbox-status.txt") or "child did not start",
        extra_files={name: _read(box / name) for name in read_back},
    )


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _sweep(token: str) -> None:
    """Kill processes that left the group (``setsid``) but still carry this run's marker."""
    me = os.getpid()
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == me:
            continue
        with contextlib.suppress(psutil.Error, OSError):
            if proc.environ().get(MARKER) == token:
                proc.kill()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - OUTPUT_TAIL))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
