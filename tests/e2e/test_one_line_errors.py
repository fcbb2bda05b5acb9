"""Storage failures and out-of-range input give one line and a documented exit code, never a
traceback: the real command in a subprocess, on real files (tmpfs mounts where root may mount)."""

import os
import shutil
import sqlite3
import subprocess

import pytest

from tests.conftest import RepoBuilder
from tests.e2e.cli import run


def assert_one_line(result, code: int, *needles: str) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("controlroom: error:"), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert result.returncode == code, result.stderr


def analyze(repo_path, *extra: str, **env: str):
    return run(
        "--run-once", "--agents", "critic", "--quiet", "--repo", str(repo_path), *extra, **env
    )


@pytest.fixture
def analyzed(repo):
    repo.commit({"a.py": "print(eval(input()))\n"}, "first")
    assert analyze(repo.path).returncode == 0
    return repo


@pytest.fixture
def tmpfs(tmp_path):
    """A small tmpfs mounted under tmp_path: ``mount(size)`` -> its path; unmounted afterwards."""
    mounted = []

    def mount(size: str = "4m"):
        target = tmp_path / f"mnt{len(mounted)}"
        target.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(target)],
            capture_output=True,
        )
        if done.returncode != 0:
            pytest.skip("cannot mount a tmpfs here (needs root)")
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def remount_read_only(target) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(target)], check=True)


def test_a_store_with_malformed_pages(analyzed):
    db = analyzed.path / ".controlroom" / "state.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    with open(db, "r+b") as handle:
        handle.seek(page)  # keep the header page, wreck the schema's pages
        handle.write(b"\xff" * page * 3)
    analyzed.commit({"b.py": "x = 2\n"}, "second")
    result = analyze(analyzed.path)
    assert_one_line(result, 3, "corrupt", str(db))
    db.write_bytes(b"this is not sqlite" * 500)  # not a database at all
    for args in (["tasks"], ["--run-once", "--agents", "critic"]):
        result = run(*args, "--repo", str(analyzed.path))
        assert_one_line(result, 3, str(db))


def test_a_locked_store_past_the_busy_timeout(analyzed):
    db = analyzed.path / ".controlroom" / "state.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        analyzed.commit({"b.py": "x = 2\n"}, "second")
        result = analyze(analyzed.path, CONTROLROOM_BUSY_TIMEOUT_MS="200")
        assert_one_line(result, 3, "locked", str(db))
        decided = run(
            "decide",
            "1",
            "approve",
            "--repo",
            str(analyzed.path),
            CONTROLROOM_BUSY_TIMEOUT_MS="200",
        )
        assert_one_line(decided, 3, "locked")
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_read_only_store_and_an_unwritable_repository(tmpfs, analyzed):
    mnt = tmpfs()
    shutil.copy(analyzed.path / ".controlroom" / "state.db", mnt / "copy.db")
    repo = RepoBuilder(mnt / "repo")
    repo.commit({"a.py": "x = 1\n"}, "first")
    bare = RepoBuilder(mnt / "fresh")
    bare.commit({"a.py": "x = 1\n"}, "first")
    assert analyze(repo.path).returncode == 0
    remount_read_only(mnt)
    assert_one_line(analyze(repo.path), 3, "state.db", "Read-only file system")
    assert_one_line(analyze(bare.path), 3, "cannot create", ".controlroom")
    given = analyze(analyzed.path, "--db", str(mnt / "copy.db"))  # a read-only store via --db
    assert_one_line(given, 3, "copy.db")


def test_a_full_disk(tmpfs, repo):
    mnt = tmpfs("2m")
    db = mnt / "state.db"
    repo.commit({"a.py": "x = 1\n"}, "first")
    assert analyze(repo.path, "--db", str(db)).returncode == 0
    holder = sqlite3.connect(db)  # keeps the -wal and -shm files: opening needs no new space
    holder.execute("SELECT count(*) FROM commits").fetchone()
    fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:  # take every block that is left
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    lines = [f"def f{i}(x):\n    return eval(x) + {i}\n" for i in range(400)]
    repo.commit({"big.py": "".join(lines)}, "many findings")
    try:
        result = analyze(repo.path, "--db", str(db))
    finally:
        holder.close()
    assert_one_line(result, 3, str(db), "full")


@pytest.mark.parametrize(
    "args",
    [
        ["decide", "99999999999999999999999", "approve"],
        ["decide", "0", "approve"],
        ["apply", "99999999999999999999999"],
        ["git-stats", "--days", "99999999999"],
        ["git-stats", "--days", "nan"],
        ["tasks", "--limit", "99999999999999999999999"],
        ["metrics", "--json", "--port", "-1"],
        ["worker", "--heartbeat", "inf"],
    ],
)
def test_numbers_out_of_range(repo, args):
    repo.commit({"a.py": "x = 1\n"}, "first")
    result = run(*args, "--repo", str(repo.path))
    assert_one_line(
        result, 2, "out of range" if "nan" not in args and "inf" not in args else "finite"
    )


@pytest.mark.parametrize(
    "record",
    [
        '{"timestamp": NaN, "model": "claude-sonnet-4-5", "input_tokens": 1, "output_tokens": 1}',
        '{"timestamp": 1e400, "model": "claude-sonnet-4-5", "input_tokens": 1, "output_tokens": 1}',
        '{"timestamp": 1700000000, "model": "claude-sonnet-4-5", "input_tokens": 99999999999999999999999, "output_tokens": 1}',
    ],
)
def test_costs_import_refuses_non_finite_and_huge_numbers(repo, tmp_path, record):
    repo.commit({"a.py": "x = 1\n"}, "first")
    source = tmp_path / "usage.jsonl"
    source.write_text(record + "\n")
    result = run("costs", "import", str(source), "--repo", str(repo.path))
    assert_one_line(result, 2, f"{source}:1:")
