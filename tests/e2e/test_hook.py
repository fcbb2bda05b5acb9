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


def _analyzed(db) -> list[tuple[str, int]]:
    """(commit, critic runs) for every analyzed commit; [] while the store is being created."""
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute(
                "SELECT commit_sha, COUNT(*) FROM agent_runs WHERE agent = 'critic' "
                "GROUP BY commit_sha"
            ).fetchall()
    except sqlite3.OperationalError:
        return []


def _runner_spans(log_text: str) -> list[tuple[str, str]]:
    """(pid, 'started'|'exited') in log order."""
    spans = []
    for line in log_text.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[3] in ("runner started", "runner exited"):
            spans.append((parts[2], parts[3].split()[1]))
    return spans


def _wait_for_drain(repo, expected: set[str], deadline_s: float = 90.0) -> list[tuple[str, int]]:
    """Poll (another, detached process) until every expected commit is analyzed and the queue
    and the runners are done."""
    db = repo.path / ".controlroom" / "state.db"
    queue = repo.path / ".controlroom" / "hook-queue"
    log = repo.path / ".controlroom" / "hook.log"
    end = time.monotonic() + deadline_s
    rows: list[tuple[str, int]] = []
    while time.monotonic() < end:
        rows = _analyzed(db)
        spans = _runner_spans(log.read_text()) if log.exists() else []
        started = sum(1 for _, what in spans if what == "started")
        exited = sum(1 for _, what in spans if what == "exited")
        drained = queue.exists() and not any(queue.iterdir())
        if expected <= {sha for sha, _ in rows} and drained and started == exited:
            return rows
        time.sleep(0.1)
    raise AssertionError(f"not drained in time: {rows}")


def test_a_burst_of_commits_is_analyzed_once_each_by_one_runner_at_a_time(repo):
    repo.commit({"a.py": "x = 1\n"}, "first")
    installed = run("hook", "install", "--agents", "critic", "--repo", str(repo.path))
    assert installed.returncode == 0, installed.stderr
    started = time.monotonic()
    shas = [repo.commit({f"m{i}.py": f"print(eval(input({i})))\n"}, f"c{i}") for i in range(12)]
    assert time.monotonic() - started < 30  # twelve commits never waited for an analysis
    rows = _wait_for_drain(repo, set(shas))
    runs = dict(rows)
    assert {sha: runs.get(sha) for sha in shas} == {sha: 1 for sha in shas}  # each exactly once
    log = (repo.path / ".controlroom" / "hook.log").read_text()
    spans = _runner_spans(log)
    running = peak = 0
    for _pid, what in spans:
        running += 1 if what == "started" else -1
        peak = max(peak, running)
    assert peak == 1  # never two runners at once
    # Runners run one after another; a runner that finds work queued meanwhile drains it too.
    assert sum(1 for _, what in spans if what == "started") <= len(shas)
    batches: list[list[str]] = []
    for line in log.splitlines():
        if " draining " in line:
            batches.append([])
        elif " analyzed " in line:
            batches[-1].append(line.split()[4].rstrip(":"))
    for batch in batches:  # each drain goes parents before children
        assert batch == [sha for sha in shas if sha in batch]


def test_a_locked_store_is_retried_until_it_is_free(repo):
    repo.commit({"a.py": "x = 1\n"}, "first")
    assert (
        run("--run-once", "--agents", "critic", "--quiet", "--repo", str(repo.path)).returncode == 0
    )
    assert run("hook", "install", "--agents", "critic", "--repo", str(repo.path)).returncode == 0
    db = repo.path / ".controlroom" / "state.db"
    log = repo.path / ".controlroom" / "hook.log"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        repo.write({"b.py": "print(eval(input()))\n"})
        repo.git("add", "-A")
        repo.git("commit", "-q", "-m", "second", env={"CONTROLROOM_BUSY_TIMEOUT_MS": "200"})
        sha = repo.head()
        end = time.monotonic() + 60
        while time.monotonic() < end and "store locked, retrying" not in (
            log.read_text() if log.exists() else ""
        ):
            time.sleep(0.1)
        assert "store locked, retrying" in log.read_text()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    rows = _wait_for_drain(repo, {sha})
    assert dict(rows)[sha] == 1


def test_every_commit_a_rebase_writes_is_analyzed(repo):
    repo.commit({"a.py": "x = 1\n"}, "first")
    repo.git("checkout", "-q", "-b", "feature")
    for i in range(5):
        repo.commit({f"f{i}.py": f"y = {i}\n"}, f"feature {i}")
    repo.git("checkout", "-q", "main")
    repo.commit({"z.py": "z = 1\n"}, "main moves on")
    assert run("hook", "install", "--agents", "critic", "--repo", str(repo.path)).returncode == 0
    repo.git("checkout", "-q", "feature")
    repo.git("rebase", "-q", "main")
    rebased = repo.git("rev-list", "main..feature").split()
    assert len(rebased) == 5
    rows = _wait_for_drain(repo, set(rebased))
    assert all(dict(rows)[sha] == 1 for sha in rebased)
