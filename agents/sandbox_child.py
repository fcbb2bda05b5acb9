"""The first code that runs in a sandboxed subprocess: confine itself, then do the job.

Run as ``python -P agents/sandbox_child.py SPEC.json``. Standard library only, and it imports nothing
from controlroom: the child's ``sys.path`` holds the repository under test, whose packages may have
any name (``core``, ``agents``...). The spec says:

- ``limits``: ``cpu_seconds``, ``memory_mb``, ``max_file_mb``, ``max_processes`` (``resource.setrlimit``);
- ``writable``: directories (and device files) the process may write to; everything else becomes
  read-only through Landlock (Linux 5.13+), which also denies TCP and signals to processes outside
  the sandbox (ABI 4 and 6) when the kernel has them;
- ``mode``: ``"exec"`` replaces this process with ``argv`` (e.g. ``python -m pytest ...``), or
  ``"ghostwrite"`` runs ``testgen_ghost.py`` (loaded by path from this directory) on ``request``.

Limits are set here rather than in ``preexec_fn`` because ``preexec_fn`` is unsafe in a parent that
runs threads (aiosqlite does); they survive ``exec``. Landlock's status is written to ``status_path``.
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
    cpu = int(limits.get("cpu_seconds", 60))
    pairs = {
        resource.RLIMIT_CPU: (cpu, cpu + 5),
        resource.RLIMIT_AS: (int(limits.get("memory_mb", 2048)) << 20,) * 2,
        resource.RLIMIT_FSIZE: (int(limits.get("max_file_mb", 64)) << 20,) * 2,
        resource.RLIMIT_NPROC: (int(limits.get("max_processes", 64)),) * 2,
        resource.RLIMIT_CORE: (0, 0),
    }
    for which, (soft, *hard) in pairs.items():
        _, current_hard = resource.getrlimit(which)
        wanted_hard = hard[0] if hard else soft
        if current_hard != resource.RLIM_INFINITY:
            wanted_hard = min(wanted_hard, current_hard)
            soft = min(soft, current_hard)
        resource.setrlimit(which, (soft, wanted_hard))


def landlock_write_only_under(paths: list[str]) -> str:
    """Forbid writes outside ``paths`` (and TCP, and signals out of the sandbox). Returns a status."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    if abi < 1:
        return f"unavailable ({os.strerror(ctypes.get_errno())})"
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
    loader = importlib.util.spec_from_file_location("_controlroom_ghost", here / "testgen_ghost.py")
    assert loader is not None and loader.loader is not None
    ghost = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(ghost)
    sys.path[:0] = spec["request"]["roots"]
    results = ghost.write_tests(spec["request"])
    Path(spec["result_path"]).write_text(json.dumps(results), encoding="utf-8")


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    set_limits(spec.get("limits", {}))
    status = landlock_write_only_under(spec.get("writable", []))
    Path(spec["status_path"]).write_text(status, encoding="utf-8")
    os.chdir(spec.get("cwd", "."))
    if spec["mode"] == "exec":
        argv = spec["argv"]
        os.execv(argv[0], argv)
    _ghostwrite(spec)


if __name__ == "__main__":
    main(sys.argv[1])
