"""The first code that runs in a sandboxed subprocess: confine itself, then do the job.

Run as ``python -P agents/testgen/child.py SPEC_JSON`` (the spec itself, not a path: no file a
sandboxed run could have written is read), either directly (the weak sandbox) or as the command
inside bubblewrap. Standard library only, and it imports nothing from controlroom: the child's
``sys.path`` holds the repository under test, whose packages may have any name (``core``,
``agents``...). The spec says:

- ``limits``: ``cpu_seconds``, ``memory_mb``, ``max_file_mb``, ``max_processes`` (``resource.setrlimit``);
- ``writable``: directories (and device files) the process may write to; everything else becomes
  read-only through Landlock (Linux 5.13+), which also denies TCP and signals to processes outside
  the sandbox (ABI 4 and 6) when the kernel has them;
- ``result_fd``: the write end of the parent's result pipe. It is moved to fd 3 (``/dev/fd/3``);
  the first line written to it is Landlock's status, before any repository code runs;
- ``mode``: ``"exec"`` replaces this process with ``argv`` (e.g. ``python -m pytest
  --junitxml=/dev/fd/3 ...``), or ``"ghostwrite"`` runs ``testgen_ghost.py`` (loaded by path from
  this directory) on ``request`` and writes its JSON to fd 3.

Limits are set here rather than in ``preexec_fn`` because ``preexec_fn`` is unsafe in a parent that
runs threads (aiosqlite does); they survive ``exec``, and so does the parent-death signal set here.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import resource
import sys
from pathlib import Path

# Landlock (include/uapi/linux/landlock.h). Syscall numbers are the same on every architecture.
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_WRITE_FILE = 1 << 1
_REMOVE_DIR, _REMOVE_FILE = 1 << 4, 1 << 5
_MAKE_ALL = sum(1 << bit for bit in range(6, 13))  # char, dir, reg, sock, fifo, block, sym
_REFER, _TRUNCATE = 1 << 13, 1 << 14
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1, 2
_PR_SET_PDEATHSIG = 1
RESULT_FD = 3


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def set_limits(limits: dict[str, int]) -> None:
    """CPU seconds, address space, file size, processes; no core files."""
    cpu = int(limits["cpu_seconds"])
    pairs = {
        resource.RLIMIT_CPU: (cpu, cpu + 5),
        resource.RLIMIT_AS: (int(limits["memory_mb"]) << 20,) * 2,
        resource.RLIMIT_FSIZE: (int(limits["max_file_mb"]) << 20,) * 2,
        resource.RLIMIT_NPROC: (int(limits["max_processes"]),) * 2,
        resource.RLIMIT_CORE: (0, 0),
    }
    for which, (soft, *hard) in pairs.items():
        _, current_hard = resource.getrlimit(which)
        wanted_hard = hard[0] if hard else soft
        if current_hard != resource.RLIM_INFINITY:
            wanted_hard = min(wanted_hard, current_hard)
            soft = min(soft, current_hard)
        resource.setrlimit(which, (soft, wanted_hard))


def landlock_abi() -> tuple[int, str]:
    """The kernel's Landlock ABI version (0 when there is none) and why not; restricts nothing."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    return (abi, "") if abi >= 1 else (0, os.strerror(ctypes.get_errno()))


def landlock_write_only_under(paths: list[str]) -> str:
    """Forbid writes outside ``paths`` (and TCP, and signals out of the sandbox). Returns a status."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi, why = landlock_abi()
    if abi < 1:
        return f"unavailable ({why})"
    fs = _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE_ALL
    fs |= _REFER if abi >= 2 else 0
    fs |= _TRUNCATE if abi >= 3 else 0
    attr = _RulesetAttr(fs, _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0, 0)
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        return f"unavailable ({os.strerror(ctypes.get_errno())})"
    try:
        for path in paths:
            is_dir = os.path.isdir(path)
            allowed = fs if is_dir else fs & (_WRITE_FILE | _TRUNCATE)
            fd = os.open(path, os.O_PATH | (os.O_DIRECTORY if is_dir else 0))
            try:
                rule = _PathBeneathAttr(allowed, fd)
                if libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0):
                    return f"unavailable (add_rule {path}: {os.strerror(ctypes.get_errno())})"
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0):
            return f"unavailable (no_new_privs: {os.strerror(ctypes.get_errno())})"
        if libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0):
            return f"unavailable (restrict_self: {os.strerror(ctypes.get_errno())})"
    finally:
        os.close(ruleset)
    return f"landlock abi {abi}"


def _ghostwrite(spec: dict) -> None:
    here = Path(__file__).resolve().parent
    loader = importlib.util.spec_from_file_location("_controlroom_ghost", here / "ghost.py")
    assert loader is not None and loader.loader is not None
    ghost = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(ghost)
    sys.path[:0] = spec["request"]["roots"]
    results = ghost.write_tests(spec["request"])
    _write_all(RESULT_FD, json.dumps(results).encode("utf-8"))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _take_result_fd(fd: int | None) -> None:
    """Move the parent's result pipe to ``RESULT_FD`` (inheritable), or point it at /dev/null."""
    if fd is None:
        fd = os.open(os.devnull, os.O_WRONLY)
    if fd != RESULT_FD:
        os.dup2(fd, RESULT_FD)
        os.close(fd)
    os.set_inheritable(RESULT_FD, True)


def main(raw_spec: str) -> None:
    spec = json.loads(raw_spec)
    _take_result_fd(spec.get("result_fd"))
    set_limits(spec["limits"])
    status = landlock_write_only_under(spec.get("writable", []))
    _write_all(RESULT_FD, (status.replace("\n", " ") + "\n").encode("utf-8"))
    # Die with the process that started us (the agent, or bubblewrap's init): survives exec.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, 9, 0, 0, 0)
    os.chdir(spec.get("cwd", "."))
    if spec["mode"] == "exec":
        argv = spec["argv"]
        os.execv(argv[0], argv)
    _ghostwrite(spec)


if __name__ == "__main__":
    main(sys.argv[1])
