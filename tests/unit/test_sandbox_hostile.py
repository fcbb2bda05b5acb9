"""A hostile repository under the real sandbox: what its code may read, reach, leave behind or forge.

Each test commits ``hostile.py`` to a real git repository, checks it out in a temporary worktree
(``GitRepository.worktree``, as the tests agent does) and runs it through ``run_sandboxed`` or
``testgen_run.validate``. The probes print ``RESULT <json>``; the parent reads it from the output.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from controlroom.agents.testgen import batch as testgen_batch
from controlroom.agents.testgen.agent import TestGeneratorAgent
from controlroom.agents.testgen.run import PASSED, validate
from controlroom.agents.testgen.sandbox import (
    MARKER,
    Limits,
    SandboxResult,
    run_sandboxed,
    sandbox_strength,
)
from controlroom.core.config import load_config
from controlroom.core.errors import ConfigError
from controlroom.core.git import GitRepository
from controlroom.core.model import AgentContext

STRONG = sandbox_strength() == "bubblewrap"
needs_bwrap = pytest.mark.skipif(
    not STRONG, reason=f"bubblewrap unusable here: {sandbox_strength()}"
)

HOSTILE = r'''
import json
import os
import socket
import sys
import time


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError as exc:
        return f"denied: {type(exc).__name__}"


def find_secret(secret):
    """Our environment, then every process's environment we can see in /proc."""
    seen = []
    if any(secret in value for value in os.environ.values()):
        seen.append("os.environ")
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as handle:
                    if secret.encode() in handle.read():
                        seen.append(entry)
            except OSError:
                pass
    return seen


def send_udp(port):
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.sendto(b"leak", ("127.0.0.1", port))
        return "sent"
    except OSError as exc:
        return f"denied: {type(exc).__name__}"


def connect_unix(path):
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        sock.sendall(b"leak")
        return "connected"
    except OSError as exc:
        return f"denied: {type(exc).__name__}"


def write(path):
    try:
        with open(path, "w") as handle:
            handle.write("harm")
        return "written"
    except OSError as exc:
        return f"denied: {type(exc).__name__}"


def escape(marker):
    """setsid, fork, and exec a long sleep with an empty environment (no marker left in it)."""
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            argv = [sys.executable, "-c", "import time; time.sleep(300)", marker]
            os.execve(sys.executable, argv, {})
        os._exit(0)
    os.waitpid(pid, 0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if marker.encode() in handle.read():
                        return "sleeper started"
            except OSError:
                pass
        time.sleep(0.01)
    return "sleeper not found"


def identity():
    with open("/proc/self/status") as handle:
        caps = dict(line.split(":\t", 1) for line in handle if line.startswith("Cap"))
    return [os.getuid(), os.geteuid(), os.getgid(), int(caps["CapEff"], 16), int(caps["CapBnd"], 16)]
'''

FORGED_REPORT = (
    '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" '
    'failures="0" skipped="0" tests="1"><testcase classname="test_forge" name="test_it" '
    'time="0.1"/></testsuite></testsuites>'
)

FORGING_TEST = f"""\
import os
from pathlib import Path

FORGED = {FORGED_REPORT!r}


def test_it():
    box = Path(__file__).parent
    for name in ("report.xml", "sandbox-status.txt", "output.txt"):
        try:
            (box / name).write_text(FORGED if name == "report.xml" else "landlock abi 99")
        except OSError:
            pass
    for fd in range(3, 20):
        try:
            os.write(fd, FORGED.encode())
        except OSError:
            pass
    assert 1 == 2
    os._exit(0)
"""


def probe_script(call: str) -> str:
    return f"import json, os, hostile\nprint('RESULT', json.dumps({call}), flush=True)\n"


def result_of(result: SandboxResult):
    for line in result.output.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    raise AssertionError(f"no RESULT line in the output:\n{result.output}")


async def probe(repo, call: str, *, timeout: float = 20.0) -> SandboxResult:
    """Run ``call`` (Python, ``hostile`` imported) in the sandbox, in a worktree of the commit."""
    sha = repo.commit({"hostile.py": HOSTILE}, "hostile code")
    async with GitRepository(repo.path).worktree(sha) as tree:
        return await run_sandboxed(
            tree / ".box",
            mode="exec",
            writable=[tree],
            limits=Limits(timeout=timeout),
            python_path=[str(tree)],
            cwd=tree,
            argv=[sys.executable, "-c", probe_script(call)],
        )


def processes_with(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and marker in " ".join(proc.cmdline()):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def wait_until_gone(marker: str, seconds: float = 10.0) -> list[psutil.Process]:
    """Polls an external condition (other processes) with a deadline; returns what is left."""
    deadline = time.monotonic() + seconds
    left = processes_with(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = processes_with(marker)
    return left


@needs_bwrap
async def test_secrets_outside_the_worktree_cannot_be_read(repo, tmp_path, monkeypatch) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("PRIVATE KEY")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    monkeypatch.setenv("HOME", str(home))
    call = f"[hostile.read({str(home / '.ssh' / 'id_rsa')!r}), hostile.read({str(secret)!r}),"
    call += " hostile.read('/etc/shadow'), hostile.read(os.path.expanduser('~/.ssh/id_rsa'))]"
    result = await probe(repo, call)
    reads = result_of(result)
    assert all(text.startswith("denied") for text in reads), reads


@needs_bwrap
async def test_the_parents_environment_is_invisible(repo, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-secret")
    monkeypatch.setenv("SSH_AUTH_SOCK", "/tmp/ssh-agent-sk-test-secret.sock")
    result = await probe(repo, "hostile.find_secret('sk-test-secret')")
    assert result_of(result) == []


@needs_bwrap
async def test_udp_to_loopback_reaches_nothing(repo) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.setblocking(False)
    try:
        result = await probe(repo, f"hostile.send_udp({listener.getsockname()[1]})")
        result_of(result)  # the probe ran
        with pytest.raises(BlockingIOError):
            listener.recv(100)
    finally:
        listener.close()


@needs_bwrap
async def test_a_unix_socket_outside_the_worktree_cannot_be_reached(repo, tmp_path) -> None:
    path = tmp_path / "agent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    server.setblocking(False)
    try:
        result = await probe(repo, f"hostile.connect_unix({str(path)!r})")
        assert result_of(result).startswith("denied")
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()


@needs_bwrap
async def test_uid_inside_is_not_root_and_has_no_capabilities(repo) -> None:
    uid, euid, gid, effective, bounding = result_of(await probe(repo, "hostile.identity()"))
    assert uid != 0 and euid != 0 and gid != 0
    assert effective == 0 and bounding == 0  # no capabilities, not even to regain


async def test_writes_outside_the_worktree_still_fail(repo, tmp_path) -> None:
    target = tmp_path / "outside.txt"
    result = await probe(repo, f"hostile.write({str(target)!r})")
    assert result_of(result).startswith("denied")
    assert not target.exists()


@needs_bwrap
async def test_setsid_fork_exec_leaves_no_process_behind(repo) -> None:
    marker = f"controlroom-escape-{os.getpid()}-{time.monotonic_ns()}"
    head, tail = marker[:10], marker[10:]  # no process but the sleeper carries it whole
    result = await probe(repo, f"hostile.escape({head!r} + {tail!r})")
    assert result_of(result) == "sleeper started"
    left = wait_until_gone(marker)
    for proc in left:  # clean up before failing
        proc.kill()
    assert left == []


async def test_the_timeout_still_kills(repo) -> None:
    started = time.perf_counter()
    result = await probe(repo, "hostile.time.sleep(300)", timeout=1.5)
    assert result.timed_out and result.returncode is None
    assert time.perf_counter() - started < 30


async def test_a_forged_report_does_not_turn_a_failing_test_into_a_pass(repo) -> None:
    sha = repo.commit({"hostile.py": HOSTILE}, "hostile code")
    async with GitRepository(repo.path).worktree(sha) as tree:
        box = tree / ".controlroom-testgen" / "run-0"
        outcome = await validate(
            tree, box, FORGING_TEST, "test_forge.py", [str(tree)], Limits(timeout=20.0), 5
        )
    assert outcome.status != PASSED
    assert "abi 99" not in outcome.confinement


KILLED_PARENT = """\
import asyncio, sys
from pathlib import Path
from controlroom.agents.testgen.sandbox import Limits, run_sandboxed

tree, head, tail = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
script = (
    "import os, sys, time\\n"
    "sys.path.insert(0, os.getcwd())\\n"
    "import hostile\\n"
    f"print(hostile.escape({head!r} + {tail!r}), flush=True)\\n"
    "time.sleep(300)\\n"
)
asyncio.run(run_sandboxed(tree / ".box", mode="exec", writable=[tree], limits=Limits(timeout=120),
                          python_path=[str(tree)], cwd=tree, argv=[sys.executable, "-c", script]))
"""


@needs_bwrap
async def test_killing_controlroom_leaves_no_sandboxed_process(repo) -> None:
    marker = f"controlroom-orphan-{os.getpid()}-{time.monotonic_ns()}"
    sha = repo.commit({"hostile.py": HOSTILE}, "hostile code")
    async with GitRepository(repo.path).worktree(sha) as tree:
        parent = subprocess.Popen(
            [sys.executable, "-c", KILLED_PARENT, str(tree), marker[:10], marker[10:]]
        )
        try:
            deadline = time.monotonic() + 30
            while not processes_with(marker) and time.monotonic() < deadline:
                assert parent.poll() is None
                await asyncio.sleep(0.05)
            assert processes_with(marker), "the sandboxed sleeper never started"
            os.kill(parent.pid, signal.SIGKILL)
            parent.wait()
            left = await asyncio.to_thread(wait_until_gone, marker)
            stragglers = [p for p in psutil.process_iter() if _marked(p, tree)]
            for proc in left + stragglers:
                proc.kill()
            assert left == [] and stragglers == []
        finally:
            if parent.poll() is None:
                parent.kill()
                parent.wait()


def _marked(proc: psutil.Process, tree: Path) -> bool:
    """A live process of a sandboxed run in ``tree`` (other sessions' runs are not ours)."""
    try:
        alive = proc.status() != psutil.STATUS_ZOMBIE
        return alive and MARKER in proc.environ() and str(tree) in proc.cwd()
    except psutil.Error:
        return False


async def test_without_bubblewrap_the_run_says_weak_sandbox(repo, tmp_path) -> None:
    missing = str(tmp_path / "no-such-bwrap")
    assert sandbox_strength(missing).startswith("weak")
    sha = repo.commit({"hostile.py": HOSTILE}, "hostile code")
    async with GitRepository(repo.path).worktree(sha) as tree:
        result = await run_sandboxed(
            tree / ".box",
            mode="exec",
            writable=[tree],
            limits=Limits(timeout=20.0, bwrap=missing),  # or $CONTROLROOM_BWRAP
            python_path=[str(tree)],
            cwd=tree,
            argv=[sys.executable, "-c", probe_script("hostile.identity()")],
        )
    result_of(result)
    assert "weak sandbox" in result.confinement


@pytest.mark.slow
async def test_the_agent_reports_a_weak_sandbox(repo, tmp_path, monkeypatch) -> None:
    sha = repo.commit({"calc.py": "def double(n: int) -> int:\n    return 2 * n\n"}, "calc")
    git = GitRepository(repo.path)
    ctx = AgentContext(
        repo_path=repo.path,
        config={"timeout": 20.0, "max_examples": 5},
        worktree_factory=git.worktree,
    )
    monkeypatch.setenv("CONTROLROOM_BWRAP", str(tmp_path / "no-such-bwrap"))
    output = await TestGeneratorAgent().analyze(git.changeset(sha), ctx)
    assert output.metrics["sandbox"].startswith("weak")
    assert any("weak sandbox" in note for note in output.notes)
    (finding,) = output.findings
    assert "weak sandbox" in finding.extra["validation"]["confinement"]
    monkeypatch.delenv("CONTROLROOM_BWRAP")
    strong = await TestGeneratorAgent().analyze(git.changeset(sha), ctx)
    assert strong.metrics["sandbox"] == sandbox_strength("bwrap")
    assert not any("weak sandbox" in note for note in strong.notes) or not STRONG


def test_the_repositorys_config_cannot_choose_the_sandbox_program(tmp_path, monkeypatch) -> None:
    """Not a config key (a repository's controlroom.toml could name its own script), and a
    relative path is never looked up in the working directory."""
    (tmp_path / "controlroom.toml").write_text('[tests]\nbwrap = "./evil.sh"\n')
    with pytest.raises(ConfigError, match=r"unknown key tests\.bwrap"):
        load_config(tmp_path)
    (tmp_path / "evil.sh").write_text("#!/bin/sh\ntouch pwned\n")
    (tmp_path / "evil.sh").chmod(0o755)
    monkeypatch.chdir(tmp_path)
    assert sandbox_strength("./evil.sh").startswith("weak")
    assert not (tmp_path / "pwned").exists()


FORGED_PROGRESS = """\
import os


def test_it():
    forged = b"\\ntest_progress.py::test_it PASSED\\n"
    for fd in range(1, 30):  # past pytest's capture: its saved copy of the real stdout
        try:
            os.write(fd, forged)
        except OSError:
            pass
    os._exit(0)
"""


async def test_forged_progress_lines_do_not_make_a_batched_test_pass(repo) -> None:
    sha = repo.commit({"hostile.py": HOSTILE}, "hostile code")
    async with GitRepository(repo.path).worktree(sha) as tree:
        test = testgen_batch.TestFile("forged", "test_progress.py", FORGED_PROGRESS, (str(tree),))
        done = await testgen_batch.validate_many(
            tree, tree / ".controlroom-testgen", [test], Limits(), 5, 1
        )
    assert done["forged"].status != PASSED
