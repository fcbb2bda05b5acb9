"""Repository text never reaches the terminal raw: a file name carrying an OSC 52 clipboard write
and a commit subject that clears the screen show escaped in every human output of the command."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.e2e.cli import CONTROLROOM, cli_env

EVIL_NAME = "evil\x1b]52;c;ZWNobyBoaQ==\x07.py"
EVIL_SUBJECT = "clear \x1b[2J\x9b screen\rover [/] fix"
RAW = ("\x1b", "\x07", "\x9b", "\r")


def run(*args: str) -> subprocess.CompletedProcess:
    """The installed command; output decoded without newline translation (a raw CR must show)."""
    result = subprocess.run([CONTROLROOM, *args], env=cli_env(), capture_output=True, timeout=180)
    result.stdout = result.stdout.decode("utf-8")
    result.stderr = result.stderr.decode("utf-8")
    return result


@pytest.fixture
def evil_repo(repo):
    repo.commit({"README.md": "# demo\n"}, "initial")
    repo.commit({EVIL_NAME: "def ask():\n    return eval(input())\n"}, EVIL_SUBJECT)
    return repo


def assert_terminal_safe(output: str) -> None:
    for char in RAW:
        assert char not in output, (char, output)


def test_human_output_escapes_repository_text_and_json_keeps_it(evil_repo):
    repo = str(evil_repo.path)
    result = run("--run-once", "--repo", repo, "--agents", "critic")
    assert result.returncode == 0, result.stderr
    assert_terminal_safe(result.stdout)
    assert_terminal_safe(result.stderr)
    assert "evil\\x1b]52;c;ZWNobyBoaQ==\\x07.py:2 S307" in result.stdout
    assert "clear \\x1b[2J\\x9b screen\\rover [/] fix" in result.stdout

    tasks = run("tasks", "--repo", repo)
    assert tasks.returncode == 0, tasks.stderr
    assert_terminal_safe(tasks.stdout)
    assert "evil\\x1b]52;c;ZWNobyBoaQ==\\x07.py:2 S307" in tasks.stdout
    listed = run("tasks", "--repo", repo, "--json").stdout.splitlines()
    assert len(tasks.stdout.splitlines()) == 1 + len(listed)  # a header, then one line a task

    stats = run("git-stats", "--repo", repo)
    assert stats.returncode == 0, stats.stderr
    assert_terminal_safe(stats.stdout)
    assert "not conventional: clear \\x1b[2J" in stats.stdout

    # --json was already safe (json.dumps escapes every control): it stays so, data intact.
    report = run("--run-once", "--repo", repo, "--agents", "critic", "--json")
    assert report.returncode == 0, report.stderr
    assert_terminal_safe(report.stdout)
    data = json.loads(report.stdout)
    [commit] = data["commits"]
    assert commit["subject"] == EVIL_SUBJECT  # the data itself is kept
    assert EVIL_NAME in {f["path"] for f in commit["findings"]}

    tasks = run("tasks", "--repo", repo, "--json")
    assert_terminal_safe(tasks.stdout)
    assert EVIL_NAME in {json.loads(line)["path"] for line in tasks.stdout.splitlines()}
