"""A repository is hostile input: links or tracked files planted in .controlroom are refused."""

import os
import stat

from tests.e2e.cli import run


def _assert_one_line(result, code: int, needle: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("controlroom: error:"), result.stderr
    assert needle in lines[0]
    assert "Traceback" not in result.stderr


def test_tracked_state_db_link_is_refused_and_the_target_is_untouched(repo, tmp_path):
    victim = tmp_path / "victim.db"
    victim.write_bytes(b"precious")
    (repo.path / ".controlroom").mkdir()
    os.symlink(victim, repo.path / ".controlroom" / "state.db")
    repo.commit({"a.py": "x = 1\n"}, "plant a link")
    assert ".controlroom/state.db" in repo.git("ls-files")
    result = run("--run-once", "--agents", "critic", "--repo", str(repo.path))
    _assert_one_line(result, 3, "tracked by git")
    assert victim.read_bytes() == b"precious"
    assert run("tasks", "--repo", str(repo.path)).returncode == 3
    assert victim.read_bytes() == b"precious"


def test_untracked_link_inside_the_state_dir_is_refused(repo, tmp_path):
    victim = tmp_path / "victim.db"
    victim.write_bytes(b"precious")
    repo.commit({"a.py": "x = 1\n"}, "first")
    (repo.path / ".controlroom").mkdir()
    os.symlink(victim, repo.path / ".controlroom" / "state.db")
    result = run("--run-once", "--agents", "critic", "--repo", str(repo.path))
    _assert_one_line(result, 3, "symbolic link")
    assert victim.read_bytes() == b"precious"


def test_state_dir_itself_a_link_is_refused(repo, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    repo.commit({"a.py": "x = 1\n"}, "first")
    os.symlink(elsewhere, repo.path / ".controlroom")
    result = run("tasks", "--repo", str(repo.path))
    _assert_one_line(result, 3, "symbolic link")
    assert list(elsewhere.iterdir()) == []


def test_hook_log_link_to_a_profile_gets_nothing_written(repo, tmp_path):
    profile = tmp_path / "profile"
    profile.write_text("# my profile\n")
    repo.commit({"a.py": "x = 1\n"}, "first")
    assert run("hook", "install", "--agents", "critic", "--repo", str(repo.path)).returncode == 0
    os.symlink(profile, repo.path / ".controlroom" / "hook.log")
    repo.commit({"b.py": "x = 2\n"}, "second")  # the hook starts a detached runner
    # The runner refuses before writing; run it in the foreground too, to wait on it.
    sha = repo.head()
    result = run("hook", "run", "--sha", sha, "--repo", str(repo.path))
    _assert_one_line(result, 3, "symbolic link")
    assert profile.read_text() == "# my profile\n"
    refused = run("hook", "install", "--repo", str(repo.path))
    _assert_one_line(refused, 3, "hook.log is a symbolic link")


def test_state_files_are_private(repo):
    repo.commit({"a.py": "x = 1\n"}, "first")
    assert (
        run("--run-once", "--agents", "critic", "--quiet", "--repo", str(repo.path)).returncode == 0
    )
    folder = repo.path / ".controlroom"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "state.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / ".gitignore").stat().st_mode) == 0o600
    assert repo.git("status", "--porcelain") == ""
