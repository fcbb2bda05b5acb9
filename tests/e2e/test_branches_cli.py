"""``controlroom branches``: list, diff, merge and delete the branches apply made, from the shell."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import subprocess

import pytest

from tests.e2e.cli import CONTROLROOM, cli_env, run
from tests.unit.test_branches import applied_branch


@pytest.fixture
async def applied(repo, tmp_path):
    workspace, store, doc, branch = await applied_branch(repo, tmp_path)
    await store.close()
    where = ("--repo", str(repo.path), "--db", str(workspace.db_path))
    return repo, where, doc, branch


def test_list_diff_merge_and_delete(applied) -> None:
    repo, where, doc, branch = applied
    tip = repo.git("rev-parse", branch)
    listed = run("branches", "--json", *where)
    assert listed.returncode == 0, listed.stderr
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["name"], row["task_id"], row["rule"], row["tip"]) == (
        branch, doc.id, "DOC100", tip,
    )  # fmt: skip
    assert (row["ahead"], row["behind"], row["ours"], row["merged"]) == (1, 0, True, False)
    assert row["verification"].startswith("applied: ")
    text = run("branches", *where).stdout
    assert text.startswith(f"{branch} {tip[:12]} +1/-0 open DOC100 calc.py:1 | controlroom:")
    diff = run("branches", "diff", branch, *where)
    assert diff.returncode == 0 and '+    """Return ``n * 2``.' in diff.stdout

    merged = run("branches", "merge", branch, "--yes", *where)
    assert merged.returncode == 0, merged.stderr
    assert (
        merged.stdout == f"merged {branch} onto main by fast-forward (1 commit; now {tip[:12]})\n"
    )
    assert repo.head() == tip
    deleted = run("branches", "delete", branch, "--yes", *where)
    assert (deleted.returncode, deleted.stdout) == (0, f"deleted {branch} (was {tip[:12]})\n")
    assert run("branches", *where).stdout == "no controlroom/task-* branch\n"


def test_refusals_are_one_line_with_their_exit_code(applied) -> None:
    repo, where, _doc, branch = applied
    head = repo.head()
    unasked = run("branches", "merge", branch, *where)  # no terminal, no --yes
    assert unasked.returncode == 2
    assert unasked.stderr.strip().endswith("merge asks for confirmation: pass --yes (no terminal)")
    assert len(unasked.stderr.strip().splitlines()) == 1
    (repo.path / "calc.py").write_text("dirty\n")
    dirty = run("branches", "merge", branch, "--yes", *where)
    assert dirty.returncode == 1 and len(dirty.stderr.strip().splitlines()) == 1
    assert "is not clean (M calc.py)" in dirty.stderr and repo.head() == head
    repo.git("branch", "controlroom/task-77", "HEAD")
    foreign = run("branches", "delete", "controlroom/task-77", "--yes", *where)
    assert foreign.returncode == 1 and "not made by controlroom" in foreign.stderr
    missing = run("branches", "delete", "nope", "--yes", *where)
    assert missing.returncode == 2 and "no branch 'nope'" in missing.stderr
    assert run("branches", "merge", *where).returncode == 2


def ask_on_a_terminal(args: list[str], answer: bytes) -> tuple[int, str]:
    """Run the command with stdin and stdout on a pseudo-terminal; type ``answer``."""
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [CONTROLROOM, *args], stdin=follower, stdout=follower, stderr=subprocess.PIPE,
        env=cli_env(), close_fds=True,
    ) as process:  # fmt: skip
        os.close(follower)
        seen = b""
        while b"[y/N]" not in seen:
            seen += os.read(leader, 4096)
        os.write(leader, answer)
        code = process.wait(timeout=60)
        with contextlib.suppress(OSError):  # the follower side is closed: EIO ends the output
            while chunk := os.read(leader, 4096):
                seen += chunk
    os.close(leader)
    return code, seen.decode().replace("\r\n", "\n")


def test_without_yes_a_terminal_is_asked(applied) -> None:
    repo, where, _doc, branch = applied
    head, tip = repo.head(), repo.git("rev-parse", branch)
    code, out = ask_on_a_terminal(["branches", "merge", branch, *where], b"n\n")
    assert code == 0 and f"merge {branch} (1 commit(s)) onto main? [y/N]" in out
    assert out.endswith("nothing done\n") and repo.head() == head
    code, out = ask_on_a_terminal(["branches", "merge", branch, *where], b"y\n")
    assert code == 0 and "by fast-forward" in out and repo.head() == tip
