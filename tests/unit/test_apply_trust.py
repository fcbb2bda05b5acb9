"""``apply`` on a hostile repository: controlroom's own git calls never run repository-controlled
commands, even when the code under test rewrote the scratch worktree; branches controlroom did
not make are never moved; a failed settle leaves no branch."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from controlroom.agents.testgen.agent import TestGeneratorAgent
from controlroom.core.apply import FixOutcome, apply_task
from controlroom.core.apply_commit import Committer, UnsafeFix
from controlroom.core.config import load_config
from controlroom.core.errors import InvalidTransition, RepositoryError
from controlroom.core.git import GitRepository
from controlroom.core.model import TaskState
from controlroom.core.pipeline import analyze_commit
from controlroom.core.queue import TaskQueue
from controlroom.core.store import Store
from controlroom.core.workspace import Workspace
from tests.unit.apply_trust_helpers import FixerAgent, hijack

CALC = "def double(n: int) -> int:\n    return n * 2\n"
FIXED = "def double(n: int) -> int:\n    return n + n\n"


@pytest.fixture
async def setup(repo, tmp_path):
    repo.commit({"seed.py": "X = 1\n"}, "seed")
    repo.commit({"calc.py": CALC}, "calc")
    workspace = Workspace(repo.path, load_config(repo.path), tmp_path / "state.db")
    store = await Store.open(workspace.db_path)
    try:
        yield repo, workspace, store, tmp_path / "ESCAPED"
    finally:
        await store.close()


async def approved_task(store: Store, workspace: Workspace, agent: FixerAgent, sha: str) -> int:
    await analyze_commit(store, workspace, sha, [agent])
    tasks = [t for t in await TaskQueue(store).list() if t.rule == "HOST001"]
    assert len(tasks) == 1, tasks
    await TaskQueue(store).decide(tasks[0].id, TaskState.APPROVED)
    return tasks[0].id


def controlroom_refs(repo) -> str:
    return repo.git(
        "for-each-ref", "--format=%(refname)", "refs/heads/controlroom", "refs/controlroom"
    )


def worktrees(repo) -> list[str]:
    listed = repo.git("worktree", "list", "--porcelain").splitlines()
    return [line.removeprefix("worktree ") for line in listed if line.startswith("worktree ")]


async def test_a_hijacked_scratch_tree_runs_nothing_and_the_fix_is_committed_from_data(
    setup,
) -> None:
    repo, workspace, store, marker = setup
    head = repo.head()

    async def escape(tree: Path) -> FixOutcome:
        (tree / "calc.py").write_text(FIXED)
        hijack(tree, marker)  # as code under test run in the tree could
        return FixOutcome(True, "rewrote double", ["calc.py"])

    agent = FixerAgent(escape)
    task_id = await approved_task(store, workspace, agent, head)

    result = await apply_task(store, workspace, task_id, agents=[agent])

    assert not marker.exists(), "a repository-controlled command ran outside the sandbox"
    assert result.state == "applied", result
    assert repo.git("show", f"{result.branch}:calc.py") + "\n" == FIXED
    assert repo.git("ls-tree", "--name-only", result.branch).split() == ["calc.py", "seed.py"]
    assert repo.git("rev-parse", f"{result.branch}~1") == head
    assert repo.git("log", "-1", "--format=%an <%ae>", result.branch) == (
        "controlroom <controlroom@localhost>"
    )
    assert worktrees(repo) == [str(repo.path)]  # the scratch tree is gone and pruned
    assert repo.git("status", "--porcelain") == ""


async def test_filters_of_the_repository_config_and_attributes_never_run(setup, tmp_path) -> None:
    repo, workspace, store, marker = setup
    hook = marker.with_name("clean.sh")
    hook.write_text(f"#!/bin/sh\ntouch '{marker}'\ncat\n")
    hook.chmod(0o755)

    async def fix(tree: Path) -> FixOutcome:
        (tree / "calc.py").write_text(FIXED)
        return FixOutcome(True, "rewrote double", ["calc.py"])

    agent = FixerAgent(fix)
    task_id = await approved_task(store, workspace, agent, repo.head())
    repo.commit({".gitattributes": "*.py filter=x\n"}, "attributes")
    # What an untrusted .git/config could say, here through a file it includes.
    included = tmp_path / "included.config"
    included.write_text(f'[filter "x"]\n\tclean = {hook}\n\tsmudge = {hook}\n\trequired = true\n')
    repo.git("config", "include.path", str(included))
    result = await apply_task(store, workspace, task_id, agents=[agent])

    assert not marker.exists()
    assert result.state == "applied"
    assert repo.git("show", f"{result.branch}:calc.py") + "\n" == FIXED


async def test_a_fix_file_that_is_a_symlink_out_of_the_tree_is_not_committed(
    setup, tmp_path
) -> None:
    repo, workspace, store, _marker = setup
    secret = tmp_path / "secret.txt"
    secret.write_text("the user's secret\n")

    async def leak(tree: Path) -> FixOutcome:
        (tree / "calc.py").unlink()
        (tree / "calc.py").symlink_to(secret)
        return FixOutcome(True, "rewrote double", ["calc.py"])

    agent = FixerAgent(leak)
    task_id = await approved_task(store, workspace, agent, repo.head())
    result = await apply_task(store, workspace, task_id, agents=[agent])

    assert result.state == "failed"
    assert result.summary.startswith("calc.py is not a plain file in the fix's worktree")
    assert controlroom_refs(repo) == ""


async def test_a_user_branch_with_the_task_name_is_never_moved(setup) -> None:
    repo, workspace, store, _marker = setup
    made = []

    async def fix(tree: Path) -> FixOutcome:
        made.append(tree)
        (tree / "calc.py").write_text(FIXED)
        return FixOutcome(True, "rewrote double", ["calc.py"])

    agent = FixerAgent(fix)
    task_id = await approved_task(store, workspace, agent, repo.head())
    branch = f"controlroom/task-{task_id}"
    repo.git("branch", branch, "HEAD~1")  # the user's own branch, by chance of that name
    before = repo.git("rev-parse", branch)

    result = await apply_task(store, workspace, task_id, agents=[agent])

    assert repo.git("rev-parse", branch) == before
    assert result.state == "failed" and made == []  # refused before any fix was made
    assert result.summary == (
        f"branch {branch} exists ({before[:12]}) and controlroom did not make it: not moved; "
        "rename or delete it, then approve the task again"
    )
    task = await TaskQueue(store).get(task_id)
    assert task.state is TaskState.FAILED and task.reason == result.summary


async def test_a_settle_that_fails_leaves_no_branch(setup) -> None:
    repo, workspace, store, _marker = setup
    queue = TaskQueue(store)
    task_ids: list[int] = []

    async def fix_while_rejected(tree: Path) -> FixOutcome:
        await queue.decide(task_ids[0], TaskState.REJECTED)  # someone decided meanwhile
        (tree / "calc.py").write_text(FIXED)
        return FixOutcome(True, "rewrote double", ["calc.py"])

    agent = FixerAgent(fix_while_rejected)
    task_ids.append(await approved_task(store, workspace, agent, repo.head()))

    with pytest.raises(InvalidTransition, match="no longer approved"):
        await apply_task(store, workspace, task_ids[0], agents=[agent])

    assert controlroom_refs(repo) == ""
    assert (await queue.get(task_ids[0])).state is TaskState.REJECTED
    assert worktrees(repo) == [str(repo.path)]


def test_controlroom_moves_only_the_branches_it_made(repo) -> None:
    base = repo.commit({"a.txt": "a\n"}, "a")
    committer = Committer(GitRepository(repo.path).common_dir)
    claim = committer.claim_branch("controlroom/task-1")
    assert claim.expected is None
    first = committer.commit(base, {"a.txt": b"b\n"}, "first")
    committer.publish(claim, first)
    again = committer.claim_branch("controlroom/task-1")  # ours: may be replaced
    assert again.expected == first
    second = committer.commit(base, {"a.txt": b"c\n"}, "second")
    committer.publish(again, second)
    assert repo.git("rev-parse", "controlroom/task-1") == second

    repo.git("branch", "-f", "controlroom/task-1", base)  # the user moved it
    with pytest.raises(UnsafeFix, match="it moved since controlroom: not moved"):
        committer.claim_branch("controlroom/task-1")
    for bad in ("controlroom/task..1", "-x", "controlroom/task-1.lock"):
        with pytest.raises(UnsafeFix, match="not a valid branch name"):
            committer.claim_branch(bad)
    with pytest.raises(UnsafeFix, match="does not commit"):
        committer.commit(base, {".git/config": b"x"}, "no")


ESCAPING_MODULE = '''\
"""Doubles numbers; on import it also tries to take over the worktree it runs in."""

import os
import subprocess
from pathlib import Path


def double(n: int) -> int:
    return n * 2


def naive_double(n: int) -> int:
    return n + n


def _take_over() -> None:
    for top in Path(__file__).resolve().parents:
        dotgit = top / ".git"
        if dotgit.is_file():  # a linked worktree: controlroom's scratch tree
            evil = top / ".evil-git"
            hook = evil / "hook.sh"
            for folder in (evil / "objects", evil / "refs" / "heads", evil / "hooks"):
                folder.mkdir(parents=True, exist_ok=True)
            (evil / "HEAD").write_text("ref: refs/heads/main\\n")
            hook.write_text("#!/bin/sh\\ntouch '{marker}'\\ncat\\n")
            hook.chmod(0o755)
            (evil / "config").write_text(
                "[core]\\n\\tfsmonitor = %s\\n\\thooksPath = %s\\n"
                "[filter \\"x\\"]\\n\\tclean = %s\\n" % (hook, hook.parent / "hooks", hook)
            )
            for name in ("pre-commit", "post-commit", "reference-transaction"):
                target = evil / "hooks" / name
                if not target.exists():
                    target.symlink_to(hook)
            dotgit.write_text("gitdir: %s\\n" % evil)
            return


try:
    _take_over()
except OSError:
    pass
'''


async def test_the_tests_agent_on_a_repository_whose_module_takes_over_the_tree(
    repo, tmp_path
) -> None:
    """The real scenario: the generated test imports a module that rewrites the scratch tree's
    ``.git`` file while it is verified in the sandbox; the repository ships ``* filter=x``."""
    marker = tmp_path / "ESCAPED"
    repo.commit({"seed.py": "X = 1\n", ".gitattributes": "* filter=x\n"}, "seed")
    sha = repo.commit(
        {
            "pkg/__init__.py": '"""Package."""\n',
            "pkg/evil.py": ESCAPING_MODULE.replace("{marker}", str(marker)),
        },
        "evil",
    )
    workspace = Workspace(repo.path, load_config(repo.path), tmp_path / "state.db")
    async with await Store.open(workspace.db_path) as store:
        await analyze_commit(store, workspace, sha, [TestGeneratorAgent()])
        tasks = await TaskQueue(store).list()
        test = next(t for t in tasks if t.rule == "TEST001" and t.symbol == "double")
        await TaskQueue(store).decide(test.id, TaskState.APPROVED)

        result = await apply_task(store, workspace, test.id, agents=[TestGeneratorAgent()])

    assert not marker.exists(), "a repository-controlled command ran outside the sandbox"
    assert result.state in ("applied", "failed"), result
    if result.state == "applied":
        committed = repo.git("diff", "--name-only", f"{sha}..{result.branch}").split()
        assert committed == ["tests/test_evil_double_properties.py"], committed
        assert "double" in repo.git("show", f"{result.branch}:{committed[0]}")
    else:
        assert result.summary
    assert worktrees(repo) == [str(repo.path)]


async def test_a_fix_that_names_git_files_or_changes_nothing_fails(setup) -> None:
    repo, workspace, store, marker = setup
    attempts = iter(
        [
            ([".git/config"], None),
            (["calc.py"], CALC),  # rewritten with the same text
        ]
    )

    async def fix(tree: Path) -> FixOutcome:
        paths, text = next(attempts)
        if text is not None:
            (tree / "calc.py").write_text(text)
        return FixOutcome(True, "did something", paths)

    agent = FixerAgent(fix)
    task_id = await approved_task(store, workspace, agent, repo.head())
    first = await apply_task(store, workspace, task_id, agents=[agent])
    assert (first.state, first.summary) == (
        "failed",
        "the fix names a path controlroom does not commit: '.git/config'",
    )
    await TaskQueue(store).decide(task_id, TaskState.APPROVED)
    second = await apply_task(store, workspace, task_id, agents=[agent])
    assert (second.state, second.summary) == ("failed", "the fix changed no file")
    assert controlroom_refs(repo) == "" and not marker.exists()


async def test_the_docs_patch_is_applied_without_the_trees_git_or_filters(tmp_path) -> None:
    from controlroom.agents.docs.fix import git_apply

    marker, tree = tmp_path / "ESCAPED", tmp_path / "tree"
    tree.mkdir()
    (tree / "calc.py").write_text(CALC)
    hijack(tree, marker)
    diff = (
        "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,3 @@\n def double(n: int) -> int:\n"
        '+    """Twice n."""\n     return n * 2\n'
    )

    assert await git_apply(tree, diff) is None

    assert not marker.exists()
    assert '"""Twice n."""' in (tree / "calc.py").read_text()


def test_only_worktrees_of_dead_controlroom_processes_are_pruned(repo, tmp_path) -> None:
    repo.commit({"a.txt": "a\n"}, "a")
    gone = subprocess.Popen(["true"])
    gone.wait()
    holders = {
        "dead": tmp_path / f"controlroom-wt-{gone.pid}-abc",
        "live": tmp_path / f"controlroom-wt-{os.getpid()}-abc",
        "foreign": tmp_path / "someone-else",
    }
    for holder in holders.values():
        repo.git("worktree", "add", "--detach", "-q", str(holder / "tree"), "HEAD")
    git = GitRepository(repo.path)

    removed = git.prune_stale_worktrees()

    assert removed == [holders["dead"]]
    assert not holders["dead"].exists()
    assert sorted(worktrees(repo)) == sorted(
        [str(repo.path), str(holders["live"] / "tree"), str(holders["foreign"] / "tree")]
    )
    git.close()


def test_filter_drivers_of_the_repository_config_are_switched_off_for_checkouts(repo) -> None:
    repo.commit({"a.txt": "a\n"}, "a")
    repo.git("config", "filter.x.smudge", "touch /nonexistent/x")
    git = GitRepository(repo.path)
    assert git.local_filter_overrides() == [
        *("-c", "filter.x.smudge=", "-c", "filter.x.clean="),
        *("-c", "filter.x.process=", "-c", "filter.x.required=0"),
    ]
    repo.git("config", "filter.a=b.smudge", "touch /nonexistent/y")
    with pytest.raises(RepositoryError, match="cannot switch off"):
        git.local_filter_overrides()
    git.close()


async def test_the_tui_runtime_removes_worktrees_of_killed_runs_when_it_starts(
    repo, store, tmp_path
) -> None:
    import asyncio

    from controlroom.core.runtime import Runtime

    repo.commit({"a.py": "x = 1\n"}, "base")
    gone = subprocess.Popen(["true"])
    gone.wait()
    holder = tmp_path / f"controlroom-wt-{gone.pid}-xyz"
    repo.git("worktree", "add", "--detach", "-q", str(holder / "tree"), "HEAD")
    config = load_config(repo.path).with_overrides({"runtime.poll_interval": 0.05})
    from controlroom.core.plugins import load_agents

    critic = [agent for agent in load_agents() if agent.name == "critic"]
    # A real agent: a runtime with nothing to run has nothing pending, so no cycle would report.
    runtime = Runtime(Workspace(repo.path, config, tmp_path / "state.db"), store, agents=critic)
    analyzed = asyncio.create_task(runtime.events.wait_for("commit.analyzed", timeout=30))
    await asyncio.sleep(0)  # the waiter subscribes before the loop starts
    loop = asyncio.create_task(runtime.run())
    try:
        await analyzed  # the first cycle runs after the start-up clean-up
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert worktrees(repo) == [str(repo.path)]
    assert not holder.exists()


async def test_a_branch_the_user_makes_while_the_fix_is_made_is_not_moved(setup) -> None:
    repo, workspace, store, _marker = setup
    task_ids: list[int] = []

    async def fix_while_user_branches(tree: Path) -> FixOutcome:
        repo.git("branch", f"controlroom/task-{task_ids[0]}", "HEAD~1")
        (tree / "calc.py").write_text(FIXED)
        return FixOutcome(True, "rewrote double", ["calc.py"])

    agent = FixerAgent(fix_while_user_branches)
    task_ids.append(await approved_task(store, workspace, agent, repo.head()))
    branch = f"controlroom/task-{task_ids[0]}"

    with pytest.raises(RepositoryError, match=f"branch {branch} changed while the fix was made"):
        await apply_task(store, workspace, task_ids[0], agents=[agent])

    assert repo.git("rev-parse", branch) == repo.git("rev-parse", "HEAD~1")
    assert repo.git("for-each-ref", "--format=%(refname)", "refs/controlroom") == ""
