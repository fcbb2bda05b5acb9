"""``command``: exits 0 within its timeout; optional maximum duration and stdout pattern.

Runs without a shell unless ``shell = true``, with the environment minus secrets
(:func:`controlroom.core.secrets.child_env`). The command gets its own process group: on timeout
the whole group is killed, and when the command exits anything it left running in its group is
killed too, so no process of a check outlives it. Output is read as it arrives; only the first
:data:`KEEP_BYTES` and the last :data:`TAIL_BYTES` of each stream are kept, the rest is discarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import time
from typing import Any

from controlroom.core.secrets import child_env
from controlroom.core.sla.checks.base import CheckContext, CheckFailed, Outcome
from controlroom.core.sla.definitions import CheckDef
from controlroom.core.sla.durations import format_duration

KEEP_BYTES = 64 * 1024  # the head of each stream kept (stdout_match looks at it)
TAIL_BYTES = 4 * 1024  # and its tail (the message shows the last line)
CLOSE_GRACE_S = 1.0  # after the group is killed, how long to wait for the pipes to close
REAP_GRACE_S = 5.0  # after a kill, how long to wait for the command to be reaped


class BoundedBuffer:
    """The head and the tail of a stream, and how many bytes went by."""

    def __init__(self, head: int = KEEP_BYTES, tail: int = TAIL_BYTES) -> None:
        self._head_limit, self._tail_limit = head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self._head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self._tail_limit:
                del self.tail[: len(self.tail) - self._tail_limit]

    @property
    def omitted(self) -> int:
        return self.total - len(self.head) - len(self.tail)

    def text(self) -> str:
        gap = f"\n[... {self.omitted} bytes omitted ...]\n".encode() if self.omitted else b""
        return bytes(self.head + gap + self.tail).decode(errors="replace")


class _Capture(asyncio.SubprocessProtocol):
    """Collects both streams into bounded buffers; futures for "exited" and "all closed"."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.stdout, self.stderr = BoundedBuffer(), BoundedBuffer()
        self.exited: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        chunk = data.encode() if isinstance(data, str) else data
        (self.stdout if fd == 1 else self.stderr).add(chunk)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self.process_exited()


def _kill_group(pid: int, *, running: bool = False) -> None:
    """SIGKILL the command's process group; while the command still runs (``running``), first
    any descendant that left the group (a ``setsid`` child): the command can still name it."""
    if running:
        import psutil  # imported when used: building the CLI parser must stay light

        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(pid).children(recursive=True):
                with contextlib.suppress(psutil.Error, OSError):
                    if os.getpgid(child.pid) != pid:
                        child.kill()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def _start(params: dict[str, Any], cwd: Any) -> tuple[asyncio.SubprocessTransport, _Capture]:
    loop = asyncio.get_running_loop()
    raw = params["command"]
    options: dict[str, Any] = {
        "cwd": cwd,
        "stdin": asyncio.subprocess.DEVNULL,
        "stdout": asyncio.subprocess.PIPE,
        "stderr": asyncio.subprocess.PIPE,
        "env": child_env(),
        "start_new_session": True,
    }
    try:
        if params.get("shell", False):
            text = raw if isinstance(raw, str) else shlex.join(raw)
            return await loop.subprocess_shell(lambda: _Capture(loop), text, **options)
        argv = shlex.split(raw) if isinstance(raw, str) else list(raw)
        return await loop.subprocess_exec(lambda: _Capture(loop), *argv, **options)
    except OSError as exc:
        raise CheckFailed(f"cannot start {raw!r}: {exc.strerror or exc}") from exc


async def run_bounded(params: dict[str, Any], cwd: Any) -> tuple[int, BoundedBuffer, BoundedBuffer]:
    """Run the command to its exit; its exit code and bounded stdout and stderr. Cancelling
    (the check's timeout) kills the whole process group."""
    transport, capture = await _start(params, cwd)
    pid = transport.get_pid()
    try:
        await capture.exited
        _kill_group(pid)  # whatever it left running in its group
        await asyncio.wait([capture.closed], timeout=CLOSE_GRACE_S)
        code = transport.get_returncode()
        return (-1 if code is None else code), capture.stdout, capture.stderr
    except BaseException:  # timeout or cancellation: the whole group goes
        _kill_group(pid, running=transport.get_returncode() is None)
        with contextlib.suppress(BaseException):
            await asyncio.wait([capture.exited], timeout=REAP_GRACE_S)
        raise
    finally:
        transport.close()


def _last_line(buffer: BoundedBuffer) -> str:
    lines = bytes(buffer.tail or buffer.head).decode(errors="replace").strip().splitlines()
    return lines[-1][:120] if lines else ""


async def command(check: CheckDef, ctx: CheckContext) -> Outcome:
    params = check.params
    started = time.perf_counter()
    code, stdout, stderr = await run_bounded(params, ctx.resolve(params.get("cwd", ".")))
    duration = time.perf_counter() - started
    if code != 0:
        tail = _last_line(stderr) or _last_line(stdout)
        return Outcome(False, duration, f"exited {code}{': ' + tail if tail else ''}")
    limit = params.get("max_duration")
    if limit is not None and duration > limit:
        return Outcome(
            False, duration, f"took {format_duration(duration)}, over {format_duration(limit)}"
        )
    pattern = params.get("stdout_match")
    if pattern and not re.search(pattern, stdout.text()):
        return Outcome(False, duration, f"stdout does not match {pattern!r}")
    return Outcome(True, duration, f"exited 0 in {format_duration(duration)}")
