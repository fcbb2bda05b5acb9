"""Run repository code in a confined subprocess: the only way the tests agent executes it.

Where bubblewrap works (probed once per process, see ``sandbox_bwrap``), the child
(``agents/testgen/child.py``) runs inside it: own user (uid 65534), network (loopback only), PID,
IPC and mount namespaces, a root that holds only the interpreter, system libraries and the
worktree (read-write), a cleared environment, dying with its parent. Elsewhere it runs directly
("weak sandbox"): clean environment, own session, and Landlock where the kernel has it. Both set
rlimits (CPU, address space, file size, processes) and Landlock inside, and on timeout or
cancellation everything the run started is killed.

What the run reports comes back over a pipe the parent made (``RESULT_PATH``, fd 3 in the child),
never from a file in the writable tree; its output goes to a file outside that tree. See
docs/sandbox.md for what this does and does not guarantee.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from controlroom.core.settings import table
from controlroom.core.toolkit import sandbox_bwrap

CHILD = Path(__file__).with_name("child.py")
GHOST = Path(__file__).with_name("ghost.py")
OBSERVE = Path(__file__).with_name("observe.py")  # loaded by ghost.py
MARKER = "CONTROLROOM_SANDBOX"
OUTPUT_TAIL = 4000
RESULT_PATH = "/dev/fd/3"  # what the sandboxed command writes here comes back in ``report``
RESULT_CAP = 16 << 20  # bytes of ``report`` kept; a larger one is cut (and fails to parse)
DRAIN_AFTER_EXIT_S = 2.0
BUBBLEWRAP = "bubblewrap"
WEAK = "weak sandbox"


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits of one sandboxed run (``[tests]`` config keys), and the bubblewrap program
    (``$CONTROLROOM_BWRAP``, see ``sandbox_bwrap.program``)."""

    timeout: float = 60.0
    memory_mb: int = 2048
    max_file_mb: int = 64
    max_processes: int = 64
    bwrap: str = field(default_factory=sandbox_bwrap.program)  # "" or missing: the weak sandbox
    # The interpreter that runs the child ("": controlroom's own) and its prefixes, bound
    # read-only (``testgen_env.Environment``).
    python: str = ""
    python_dirs: tuple[str, ...] = ()

    @property
    def interpreter(self) -> str:
        return self.python or sys.executable

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Limits:
        """The sandbox limits of the ``[tests]`` table (given over the packaged one)."""
        values = table("tests", config)
        return cls(
            timeout=float(values["timeout"]),
            memory_mb=int(values["memory_mb"]),
            max_file_mb=int(values["max_file_mb"]),
            max_processes=int(values["max_processes"]),
        )


@dataclass(slots=True)
class SandboxResult:
    returncode: int | None  # None: killed on timeout
    timed_out: bool
    duration_s: float
    output: str  # the last OUTPUT_TAIL characters of stdout+stderr
    # "bubblewrap; landlock abi N", or "weak sandbox: landlock abi N (bubblewrap unavailable: ...)"
    confinement: str
    extra_files: dict[str, str] = field(default_factory=dict)  # ``read_back``: forgeable by the run
    report: str = ""  # what the run wrote to RESULT_PATH (after the child's status line)


def sandbox_strength(bwrap: str | None = None) -> str:
    """``"bubblewrap"``, or ``"weak (landlock abi N)"`` / ``"weak (rlimits only)"``. Probed once.

    ``bwrap``: the program (default ``sandbox_bwrap.program()``)."""
    _path, problem = sandbox_bwrap.probe(sandbox_bwrap.program() if bwrap is None else bwrap)
    if problem is None:
        return BUBBLEWRAP
    from controlroom.agents.testgen.child import landlock_abi  # standard library only

    abi, _why = landlock_abi()
    return f"weak (landlock abi {abi})" if abi else "weak (rlimits only)"


def clean_env(box: Path, python_path: list[str], token: str) -> dict[str, str]:
    """The weak sandbox's environment: no API keys, no user HOME, no inherited PYTHON* settings."""
    home, tmp = box / "home", box / "tmp"
    home.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    return _env(str(home), str(tmp), os.environ.get("PATH", "/usr/bin:/bin"), python_path, token)


def sandbox_env(python_path: list[str], token: str, python: str = "") -> dict[str, str]:
    """The environment inside bubblewrap: ``HOME`` and ``TMPDIR`` on its tmpfs, nothing inherited."""
    here = os.path.dirname(python or sys.executable)
    path = os.pathsep.join([here, "/usr/local/bin", "/usr/bin", "/bin"])
    home, tmp = sandbox_bwrap.SANDBOX_HOME, sandbox_bwrap.SANDBOX_TMP
    return _env(home, tmp, path, python_path, token)


def _env(home: str, tmp: str, path: str, python_path: list[str], token: str) -> dict[str, str]:
    return {
        "PATH": path,
        "HOME": home,
        "TMPDIR": tmp,
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
    """Run the child in ``box`` (``mode`` "exec" with ``argv`` or "ghostwrite" with ``request``).

    ``argv`` may name ``RESULT_PATH`` (e.g. pytest's ``--junitxml``); what is written there comes
    back as ``SandboxResult.report``. ``read_back`` files are read from ``box`` after the run.
    """
    box.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(8)
    bwrap_path, problem = await asyncio.to_thread(sandbox_bwrap.probe, limits.bwrap)
    started = time.perf_counter()
    timed_out = False
    with tempfile.TemporaryDirectory(prefix="controlroom-sandbox-") as private_name:
        private = Path(private_name)  # outside the writable tree, never bound into the sandbox
        read_fd, write_fd = os.pipe()
        channel = _Channel(read_fd)
        try:
            spec: dict[str, Any] = {
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
                "result_fd": write_fd,
            }
            if bwrap_path is not None and problem is None:
                spec["writable"].append(sandbox_bwrap.SANDBOX_TMP)
                env = sandbox_env(python_path, token, limits.interpreter)
                readable = [*sandbox_bwrap.python_dirs(limits.python_dirs), CHILD, GHOST, OBSERVE]
                command = sandbox_bwrap.command(
                    bwrap_path,
                    [limits.interpreter, "-P", str(CHILD), json.dumps(spec)],
                    env=env,
                    writable=writable,
                    readable=[*readable, *map(Path, python_path)],
                    cwd=cwd,
                    etc=sandbox_bwrap.write_etc(private / "etc"),
                    tmp_bytes=limits.memory_mb << 20,
                )
            else:
                env = clean_env(box, python_path, token)
                command = [limits.interpreter, "-P", str(CHILD), json.dumps(spec)]
            output_path = private / "output.txt"
            with output_path.open("wb") as out:
                proc = await asyncio.create_subprocess_exec(
                    *command,
                    cwd=str(cwd),
                    env=env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=out,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,
                    pass_fds=(write_fd,),
                )
                os.close(write_fd)
                write_fd = -1  # only the sandbox holds it now: EOF when the run is over
                try:
                    await asyncio.wait_for(proc.wait(), limits.timeout)
                except TimeoutError:
                    timed_out = True
                finally:  # also on cancellation: never leave a process behind
                    await asyncio.to_thread(_kill_everything, proc.pid, token)
                    if proc.returncode is None:
                        with contextlib.suppress(ProcessLookupError):
                            proc.kill()
                        await proc.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(channel.closed.wait(), DRAIN_AFTER_EXIT_S)
        finally:
            if write_fd >= 0:
                os.close(write_fd)
            channel.close()
        status, _, report = channel.text().partition("\n")
        output = _tail(output_path)
    return SandboxResult(
        returncode=None if timed_out else proc.returncode,
        timed_out=timed_out,
        duration_s=round(time.perf_counter() - started, 3),
        output=output,
        confinement=_confinement(problem is None, status, problem),
        extra_files={name: _read(box / name) for name in read_back},
        report=report,
    )


def _confinement(strong: bool, status: str, problem: str | None) -> str:
    status = status.strip() or "child did not start"
    if strong:
        return f"{BUBBLEWRAP}; {status}"
    return f"{WEAK}: {status} (bubblewrap unavailable: {problem})"


class _Channel:
    """The read end of the result pipe, drained by the event loop (bounded), closable any time."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.chunks: list[bytes] = []
        self.size = 0
        self.closed = asyncio.Event()
        os.set_blocking(fd, False)
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close()
        elif self.size < RESULT_CAP:
            self.chunks.append(data[: RESULT_CAP - self.size])
            self.size += len(self.chunks[-1])

    def close(self) -> None:
        if not self.closed.is_set():
            self.loop.remove_reader(self.fd)
            os.close(self.fd)
            self.closed.set()

    def text(self) -> str:
        return b"".join(self.chunks).decode("utf-8", errors="replace")


def _kill_everything(pid: int, token: str) -> None:
    """The run's process group, every descendant (bubblewrap's PID namespace included), and any
    process that left the group (``setsid``) but still carries this run's marker; then wait."""
    try:
        descendants = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    _kill_group(pid)
    for proc in descendants:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    _sweep(token)
    psutil.wait_procs(descendants, timeout=5)


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
