import sqlite3
import time

from tests.e2e.cli import run


def wait_for_commit(db, sha, deadline_s=60.0) -> bool:
    """The hook's analysis runs in another, detached process: poll the store with a deadline."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if db.exists():
            try:
                with sqlite3.connect(db) as conn:
                    if conn.execute("SELECT 1 FROM commits WHERE sha = ?", (sha,)).fetchone():
                        return True
            except sqlite3.OperationalError:
                pass  # the store is being created right now
        time.sleep(0.1)
    return False


def test_post_commit_hook_analyzes_in_the_background_and_never_blocks(repo):
    repo.commit({"a.py": "x = 1\n"}, "first")
    installed = run("hook", "install", "--repo", str(repo.path))
    assert installed.returncode == 0, installed.stderr
    hook = repo.path / ".git" / "hooks" / "post-commit"
    assert hook.exists() and "controlroom post-commit hook" in hook.read_text()
    started = time.monotonic()
    sha = repo.commit({"b.py": "print(eval(input()))\n"}, "second")
    assert time.monotonic() - started < 5  # the commit did not wait for the analysis
    assert wait_for_commit(repo.path / ".controlroom" / "state.db", sha)
    assert repo.git("status", "--porcelain") == ""


def test_foreign_hook_is_not_overwritten_without_force(repo):
    repo.commit({"a.py": "x = 1\n"}, "first")
    hook = repo.path / ".git" / "hooks" / "post-commit"
    hook.write_text("#!/bin/sh\necho mine\n")
    refused = run("hook", "install", "--repo", str(repo.path))
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    assert run("hook", "uninstall", "--repo", str(repo.path)).returncode == 3
    assert hook.exists()
    assert run("hook", "install", "--force", "--repo", str(repo.path)).returncode == 0
    assert "controlroom" in hook.read_text()
    assert run("hook", "uninstall", "--repo", str(repo.path)).returncode == 0
    assert not hook.exists()


def test_hook_takes_the_correlator_baseline_when_switched_on(repo):
    repo.commit(
        {
            "controlroom.toml": "[correlator]\nbaseline_on_commit = true\nsamples = 2\nsample_interval = 0.1\n"
        },
        "config",
    )
    # baseline_on_commit is a hook setting: privileged, so the repository's config needs trust.
    assert run("trust", "--repo", str(repo.path)).returncode == 0
    assert run("hook", "install", "--repo", str(repo.path)).returncode == 0
    sha = repo.commit({"b.py": "x = 2\n"}, "second")
    db = repo.path / ".controlroom" / "state.db"
    end = time.monotonic() + 60
    found = None
    while time.monotonic() < end and found is None:  # another, detached process: poll the store
        try:
            with sqlite3.connect(db) as conn:
                found = conn.execute(
                    "SELECT files_json FROM correlator_commits WHERE commit_sha = ?", (sha,)
                ).fetchone()
        except sqlite3.OperationalError:
            pass
        time.sleep(0.1)
    assert found is not None and "b.py" in found[0]
