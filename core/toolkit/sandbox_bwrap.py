"""bubblewrap (``bwrap``) for sandboxed runs: whether it works here, and the command line that uses it.

The sandbox gets new user, network, PID, IPC, UTS, cgroup and mount namespaces (``--unshare-all``:
loopback-only network, its own ``/proc``), an unprivileged uid/gid 65534 inside with no
capabilities (``--cap-drop ALL``, and bwrap sets no_new_privs), a new session, a cleared
environment, and dies with its parent. Its root holds only what a Python run needs:
``/usr`` and the ``/bin``, ``/lib*`` links, a few ``/etc`` files, the interpreter's prefixes and
site directories (read-only), a tmpfs ``/tmp`` (``HOME`` is ``/tmp/home``) and the writable paths
(the worktree) bound read-write. Nothing else of the host exists inside: no ``/home``, no ``/root``
(only the interpreter's own directory when it lives there), no ``/etc/shadow``, no sockets.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import threading
from pathlib import Path

PROGRAM_ENV = "CONTROLROOM_BWRAP"  # the operator's choice, never the repository's config
SANDBOX_UID = 65534
SANDBOX_HOME = "/tmp/home"
SANDBOX_TMP = "/tmp"
NAMESPACES = [
    "--unshare-all",
    "--unshare-user",
    "--uid",
    str(SANDBOX_UID),
    "--gid",
    str(SANDBOX_UID),
    "--cap-drop",
    "ALL",
    "--die-with-parent",
    "--new-session",
]
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")
ETC_SYNTHESIZED = {
    "passwd": f"nobody:x:{SANDBOX_UID}:{SANDBOX_UID}:nobody:{SANDBOX_HOME}:/bin/sh\n",
    "group": f"nogroup:x:{SANDBOX_UID}:\n",
    "hosts": "127.0.0.1 localhost\n::1 localhost\n",
}
PROBE_TIMEOUT_S = 10.0

_probed: dict[str, tuple[str | None, str | None]] = {}  # program -> (path, problem)
_lock = threading.Lock()


def program() -> str:
    """The bubblewrap program: ``$CONTROLROOM_BWRAP`` (``""`` turns bubblewrap off), else ``bwrap``.

    An environment variable, not a config key: a repository's own ``controlroom.toml`` must not be
    able to weaken the sandbox or name a program of its own to run outside it.
    """
    return os.environ.get(PROGRAM_ENV, "bwrap")


def probe(name: str) -> tuple[str | None, str | None]:
    """``(path, None)`` when the program ``name`` builds a sandbox here, else ``(path, why not)``.

    One cheap run of ``bwrap ... true`` per program and process (cached): not installed, or user
    namespaces refused by the kernel or a container, both show here. ``name`` is a program on
    ``PATH`` or an absolute path, never relative to the working directory.
    """
    with _lock:
        if name in _probed:
            return _probed[name]
    relative = "/" in name and not os.path.isabs(name)
    path = shutil.which(name) if name and not relative else None
    if path is None:
        why = "not an absolute path" if relative else "not found" if name else "turned off"
        outcome: tuple[str | None, str | None] = (None, f"{PROGRAM_ENV}={name!r}: {why}")
        if name == "bwrap":
            outcome = (None, "bwrap not found")
    else:
        # Every option the real command line uses: an old bwrap without --size or --clearenv fails here.
        command = [path, *NAMESPACES, "--clearenv", "--setenv", "PATH", "/usr/bin:/bin"]
        command += ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
        command += ["--size", str(1 << 20), "--tmpfs", SANDBOX_TMP, "--dir", SANDBOX_HOME]
        try:
            done = subprocess.run(
                [*command, "true"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=PROBE_TIMEOUT_S,
                check=False,
            )
            first = done.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
            problem = None if done.returncode == 0 else (first or [f"exit {done.returncode}"])[0]
        except (OSError, subprocess.TimeoutExpired) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        outcome = (path, problem)
    with _lock:
        _probed[name] = outcome
    return outcome


def python_dirs(extra: tuple[str, ...] | list[str] = ()) -> list[Path]:
    """What this interpreter needs to start: its prefixes and site directories, plus ``extra``
    (another interpreter's prefixes: the project's venv and its base installation)."""
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    candidates += site.getsitepackages()
    candidates.append(os.path.dirname(os.path.realpath(sys.executable)))
    candidates += [p for p in extra if os.path.isabs(p) and os.path.realpath(p) != "/"]
    return [Path(p) for p in dict.fromkeys(candidates) if p and os.path.isdir(p)]


def write_etc(folder: Path) -> Path:
    """The synthesized ``/etc/passwd``, ``group`` and ``hosts`` of the sandbox, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in ETC_SYNTHESIZED.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def command(
    program: str,
    inner: list[str],
    *,
    env: dict[str, str],
    writable: list[Path],
    readable: list[Path],
    cwd: Path,
    etc: Path,
    tmp_bytes: int,
) -> list[str]:
    """The ``bwrap`` command line running ``inner`` in the sandbox described in the module doc."""
    args = [program, *NAMESPACES, "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(tmp_bytes), "--tmpfs", SANDBOX_TMP, "--dir", SANDBOX_HOME]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in SYSTEM_LINKS:
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    for name in ETC_FILES:
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.exists(name):
            args += ["--ro-bind", name, name]
    for name in ETC_SYNTHESIZED:
        args += ["--ro-bind", str(etc / name), f"/etc/{name}"]
    rw = [Path(os.path.abspath(p)) for p in writable]
    ro = [Path(os.path.abspath(p)) for p in readable]
    for path in dict.fromkeys(ro):
        if path.exists() and not _under(path, rw) and not _under(path, [Path("/usr")]):
            args += ["--ro-bind", str(path), str(path)]
    for path in dict.fromkeys(rw):
        args += ["--bind", str(path), str(path)]
    args += ["--chdir", os.path.abspath(cwd)]
    return [*args, *inner]
