"""``command``: exits 0 within its timeout; optional maximum duration and stdout pattern.

Runs without a shell unless ``shell = true``. The command gets its own process group, so a timeout
kills it and everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import time

from controlroom.core.sla.checks.base import CheckContext, CheckFailed, Outcome
from controlroom.core.sla.definitions import CheckDef
from controlroom.core.sla.durations import format_duration

MAX_OUTPUT = 1_000_000


def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


async def command(check: CheckDef, ctx: CheckContext) -> Outcome:
    params = check.params
    raw = params["command"]
    cwd = ctx.resolve(params.get("cwd", "."))
    started = time.perf_counter()
    try:
        if params.get("shell", False):
            text = raw if isinstance(raw, str) else shlex.join(raw)
            process = await asyncio.create_subprocess_shell(
                text,
                cwd=cwd,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        else:
            argv = shlex.split(raw) if isinstance(raw, str) else list(raw)
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
    except OSError as exc:
        raise CheckFailed(f"cannot start {raw!r}: {exc.strerror or exc}") from exc
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), check.timeout)
    except BaseException:  # timeout or cancellation: the whole group goes
        _kill_group(process)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(process.wait(), 5)
        raise
    duration = time.perf_counter() - started
    if process.returncode != 0:
        tail = (stderr or stdout).decode(errors="replace").strip().splitlines()
        detail = f": {tail[-1][:120]}" if tail else ""
        return Outcome(False, duration, f"exited {process.returncode}{detail}")
    limit = params.get("max_duration")
    if limit is not None and duration > limit:
        return Outcome(
            False, duration, f"took {format_duration(duration)}, over {format_duration(limit)}"
        )
    pattern = params.get("stdout_match")
    if pattern and not re.search(pattern, stdout[:MAX_OUTPUT].decode(errors="replace")):
        return Outcome(False, duration, f"stdout does not match {pattern!r}")
    return Outcome(True, duration, f"exited 0 in {format_duration(duration)}")
