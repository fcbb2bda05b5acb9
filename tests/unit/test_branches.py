"""The branches apply made: listed, diffed, merged onto the current branch, deleted (real repos)."""

from __future__ import annotations

import subprocess

import pytest

from controlroom.agents.docs.agent import DocWriterAgent
from controlroom.core.apply import apply_task
from controlroom.core.branches import Branches, BranchRefused, annotate
from controlroom.core.config import load_config
from controlroom.core.errors import UsageError
from controlroom.core.model import TaskState
from controlroom.core.pipeline import analyze_commit
from controlroom.core.queue import TaskQueue
from controlroom.core.store import Store
from controlroom.core.workspace import Workspace

CALC = "def double(n: int) -> int:\n    return n * 2\n"


async def applied_branch(repo, tmp_path):
    """A repository whose DOC100 task on calc.py was approved and applied for real."""
    repo.commit({"seed.py": "X = 1\n"}, "seed")
    sha = repo.commit({"calc.py": CALC}, "calc")
    workspace = Workspace(repo.path, load_config(repo.path), tmp_path / "state.db")
    store = await Store.open(workspace.db_path)
    await analyze_commit(store, workspace, sha, [DocWriterAgent()])
    queue = TaskQueue(store)
    doc = next(t for t in await queue.list() if t.rule == "DOC100")
    await queue.decide(doc.id, TaskState.APPROVED)
    result = await apply_task(store, workspace, doc.id, agents=[DocWriterAgent()])
    assert result.state == "applied", result
    return workspace, store, doc, result.branch


@pytest.fixture
async def applied(repo, tmp_path):
    _workspace, store, doc, branch = await applied_branch(repo, tmp_path)
    try:
        yield repo, store, doc, branch, Branches(repo.path, "controlroom/task-")
    finally:
        await store.close()


async def test_lists_the_branch_with_its_task_and_verification(applied) -> None:
    repo, store, doc, branch, branches = applied
    found = await annotate(store, branches.all())
    assert [b.name for b in found] == [branch]
    info = found[0]
    assert (info.task_id, info.rule, info.path, info.task_state) == (
        doc.id, "DOC100", "calc.py", "applied",
    )  # fmt: skip
    assert (info.ahead, info.behind, info.ours, info.merged) == (1, 0, True, False)
    assert info.tip == repo.git("rev-parse", branch)
    assert info.subject == f"controlroom: DOC100 in calc.py:1 (task {doc.id})"
    assert info.verification.startswith("applied: ") and branch in info.verification


async def test_diff_against_the_merge_base(applied) -> None:
    _repo, _store, _doc, branch, branches = applied
    diff = branches.diff(branch)
    assert "+++ b/calc.py" in diff and '+    """Return ``n * 2``.' in diff
    assert "seed.py" not in diff  # only the branch's own commit
    cut = branches.diff(branch, max_bytes=40)
    assert "diff cut at 40 bytes" in cut


async def test_merge_fast_forwards_the_current_branch(applied) -> None:
    repo, _store, _doc, branch, branches = applied
    tip = repo.git("rev-parse", branch)
    result = branches.merge(branch)
    assert (result.how, result.commits) == ("fast-forward", 1)
    assert repo.head() == tip and repo.git("symbolic-ref", "--short", "HEAD") == "main"
    assert repo.git("status", "--porcelain") == ""
    assert branches.get(branch).merged
    assert branches.merge(branch).how == "nothing"


async def test_merge_cherry_picks_when_the_current_branch_moved(applied) -> None:
    repo, _store, _doc, branch, branches = applied
    moved = repo.commit({"other.py": "Y = 2\n"}, "meanwhile")
    result = branches.merge(branch)
    assert (result.how, result.commits) == ("cherry-pick", 1)
    assert repo.git("rev-parse", "HEAD~1") == moved
    assert '"""Return ``n * 2``.' in (repo.path / "calc.py").read_text()
    assert "cherry picked from commit" in repo.git("log", "-1", "--format=%b")
    assert branches.get(branch).merged  # its change is on main, though not its commit


async def test_a_conflicting_cherry_pick_is_aborted(applied) -> None:
    repo, _store, _doc, branch, branches = applied
    head = repo.commit({"calc.py": "def double(n: int) -> int:\n    return 2 * n\n"}, "edit")
    with pytest.raises(BranchRefused, match=r"conflict in calc\.py.*nothing merged"):
        branches.merge(branch)
    assert repo.head() == head and repo.git("status", "--porcelain") == ""


async def test_merge_refuses_a_dirty_tree(applied) -> None:
    repo, _store, _doc, branch, branches = applied
    head = repo.head()
    (repo.path / "calc.py").write_text("changed\n")
    with pytest.raises(BranchRefused, match=r"not clean \(M calc.py\)") as refused:
        branches.merge(branch)
    assert refused.value.exit_code == 1
    repo.git("checkout", "calc.py")
    repo.git("add", (repo.path / "seed.py").write_text("X = 2\n") and "seed.py")
    with pytest.raises(BranchRefused, match=r"not clean \(M  seed.py\)"):
        branches.merge(branch)  # a staged change counts too
    assert repo.head() == head


async def test_delete_only_what_controlroom_made(applied) -> None:
    repo, _store, _doc, branch, branches = applied
    repo.git("branch", "controlroom/task-999", "HEAD")  # the user's own, same prefix
    with pytest.raises(BranchRefused, match="not made by controlroom"):
        branches.delete("controlroom/task-999")
    assert repo.git("branch", "--list", "controlroom/task-999")
    branches.delete(branch)
    assert repo.git("branch", "--list", branch) == ""
    assert repo.git("for-each-ref", f"refs/controlroom/branches/{branch}") == ""
    with pytest.raises(UsageError, match="no branch"):
        branches.delete(branch)


async def test_delete_refuses_a_branch_moved_since(applied) -> None:
    repo, _store, _doc, branch, branches = applied
    repo.git("checkout", "-q", branch)
    repo.commit({"mine.py": "Z = 3\n"}, "the user's commit on it")
    repo.git("checkout", "-q", "main")
    with pytest.raises(BranchRefused, match="or moved since"):
        branches.delete(branch)
    assert repo.git("branch", "--list", branch)


async def test_merge_refuses_while_the_operator_is_mid_cherry_pick(applied) -> None:
    repo, _store, _doc, branch, branches = applied
    repo.git("checkout", "-q", "-b", "side")
    side = repo.commit({"other.py": "Y = 1\n"}, "side")
    repo.git("checkout", "-q", "main")
    repo.commit({"other.py": "Y = 2\n"}, "main's other")
    with pytest.raises(subprocess.CalledProcessError):
        repo.git("cherry-pick", side)  # the operator's own pick stops on a conflict
    pending = repo.path / ".git" / "CHERRY_PICK_HEAD"
    assert pending.exists()
    with pytest.raises(BranchRefused, match="a cherry-pick is in progress"):
        branches.merge(branch)
    assert pending.exists()  # the operator's own operation is left alone, never aborted
