"""Carrying out approved tasks.

The agent that raised a task makes its fix in a scratch worktree of HEAD and verifies it there
(the tests agent runs the generated test in its sandbox, the docs agent re-reads the docstring,
the critic re-runs ruff). The scratch tree is untrusted afterwards (the code under test may have
rewritten it, ``.git`` file included): the fix's files are read from it as plain data and
committed with plumbing against the real repository (core/apply_commit.py), never with git run
in that tree. A verified fix is committed on the branch ``controlroom/task-<id>`` (only a branch
controlroom made is ever moved) and the task becomes ``applied``; a fix that fails verification
makes it ``failed`` with the reason. The user's working tree, index and HEAD are never touched:
merging the branch is the operator's call. A task no agent can fix automatically stays
``approved``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from controlroom.core.apply_commit import Committer, UnsafeFix, fix_files
from controlroom.core.config import Config
from controlroom.core.convergence import is_group
from controlroom.core.errors import InvalidTransition, RepositoryError
from controlroom.core.fixmemory import (
    closest_attempts,
    fix_changes,
    order_by_record,
    prompt_section,
    record_attempt,
    strategy_records,
)
from controlroom.core.git import GitRepository
from controlroom.core.model import Agent, Task, TaskState
from controlroom.core.queue import FindingRecord, TaskQueue
from controlroom.core.store import Store
from controlroom.core.workspace import Workspace


@dataclass(slots=True)
class FixOutcome:
    """What an agent did to the worktree and whether the check it ran afterwards passed."""

    verified: bool
    summary: str  # one line: what was changed and how it was checked
    paths: list[str] = field(default_factory=list)  # files written, relative to the worktree
    output: str = ""  # the tail of the verification's output
    # path -> text the agent wrote from its own data; committed as given, never re-read from the
    # worktree (which the code under test may have rewritten). Other paths are read as plain files.
    contents: dict[str, str] = field(default_factory=dict)
    strategy: str | None = None  # how the fix was made, when the agent has several ways
    model: str | None = None  # the model that wrote it, when one did


@runtime_checkable
class Fixer(Protocol):
    """An agent that can carry out its own findings. ``None``: no automatic fix for this one."""

    name: str

    async def apply_fix(
        self, task: Task, findings: list[FindingRecord], tree: Path, config: dict[str, Any]
    ) -> FixOutcome | None: ...


@dataclass(slots=True)
class ApplyResult:
    task_id: int
    state: str  # applied | failed | approved (nothing automatic to do)
    summary: str
    branch: str | None = None
    commit: str | None = None
    agent: str | None = None
    output: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _by_hand(task: Task) -> ApplyResult:
    who = ", ".join(task.agents) or "no agent"
    return ApplyResult(
        task.id, "approved", f"no automatic fix for {task.rule} ({who}): carry it out by hand"
    )


async def apply_task(
    store: Store,
    workspace: Workspace,
    task_id: int,
    *,
    agents: list[Agent],
    repo: GitRepository | None = None,
    actor: str = "controlroom",
) -> ApplyResult:
    """Make, verify and commit the fix of one approved task; settle it as applied or failed.

    The branch moves only after the task was settled as applied: a settle that fails (the task
    was decided meanwhile) leaves no branch behind.
    """
    if repo is not None:
        return await _apply(store, workspace, task_id, agents, repo, actor)
    owned = GitRepository(workspace.repo_path)
    try:
        return await _apply(store, workspace, task_id, agents, owned, actor)
    finally:
        owned.close()


async def _apply(
    store: Store,
    workspace: Workspace,
    task_id: int,
    agents: list[Agent],
    repo: GitRepository,
    actor: str,
) -> ApplyResult:
    queue = TaskQueue(store, workspace.config)
    task = await queue.get(task_id)
    if task.state is not TaskState.APPROVED:
        raise InvalidTransition(f"task {task_id} is {task.state}; only approved tasks are applied")
    fixers: list[Fixer] = [a for a in agents if a.name in task.agents and isinstance(a, Fixer)]
    if is_group(task.fingerprint):  # one task listing many items: only an agent fixing them all
        fixers = [a for a in fixers if getattr(a, "fixes_groups", False)]
    if not fixers:
        return _by_hand(task)
    findings = await queue.findings(task_id)
    # The knowledge base first: the closest past attempts and each strategy's record on the rule.
    semantic = workspace.config.get("apply.retrieval") == "meaning"
    past = await closest_attempts(store, task, semantic=semantic)
    records = await strategy_records(store, task.rule, [strategy_of(a) for a in fixers])
    order = order_by_record([strategy_of(a) for a in fixers], records)
    fixers = sorted(fixers, key=lambda a: order.index(strategy_of(a)))
    head = await asyncio.to_thread(repo.head_sha)
    if head is None:
        raise RepositoryError(f"{workspace.repo_path} has no commits to apply a fix on")
    config = workspace.config
    committer = Committer(repo.common_dir)  # resolved before any repository code runs
    branch = f"{config.get('apply.branch_prefix')}{task_id}"
    try:
        claim = await asyncio.to_thread(committer.claim_branch, branch)
    except UnsafeFix as exc:
        return await _settle(queue, store, ApplyResult(task_id, "failed", str(exc)), actor)
    started = time.perf_counter()
    made = await _verified_fix(repo, head, task, fixers, findings, config, prompt_section(past))
    if made is None:
        return _by_hand(task)
    agent, outcome, files = made
    agent_name = agent.name
    remember = _Remember(store, task, agent, outcome, started)
    if not outcome.verified:
        failed = ApplyResult(
            task_id, "failed", outcome.summary, agent=agent_name, output=outcome.output
        )
        await remember.failed(outcome.summary)
        return await _settle(queue, store, failed, actor)
    message = (
        f"controlroom: {task.rule} in {task.path}:{task.line} (task {task_id})\n\n"
        f"{task.message}\n\n{outcome.summary}\n"
    )
    try:
        commit = await asyncio.to_thread(committer.commit, head, files, message)
    except UnsafeFix as exc:
        failed = ApplyResult(task_id, "failed", str(exc), agent=agent_name, output=outcome.output)
        await remember.failed(str(exc))
        return await _settle(queue, store, failed, actor)
    summary = f"{outcome.summary}; committed on {branch} ({commit[:12]})"
    result = ApplyResult(task_id, "applied", summary, branch, commit, agent_name, outcome.output)
    await remember.applied(summary, commit, await asyncio.to_thread(_changes, repo, head, files))
    return await _settle(
        queue, store, result, actor, publish=lambda: committer.publish(claim, commit)
    )


def strategy_of(agent: Any, outcome: FixOutcome | None = None) -> str:
    """The name a fix strategy is remembered by: the outcome's own, the agent's
    ``fix_strategy``, else the agent's name."""
    if outcome is not None and outcome.strategy:
        return outcome.strategy
    return str(getattr(agent, "fix_strategy", None) or agent.name)


def _changes(repo: GitRepository, head: str, files: dict[str, bytes]) -> list[dict[str, Any]]:
    """The lines the fix added and removed, per file (for noticing a later revert)."""
    new = {path: data.decode("utf-8", "replace") for path, data in files.items()}
    old = {path: repo.blob_text(head, path) for path in new}
    return fix_changes(old, new)


@dataclass(slots=True)
class _Remember:
    """Records the attempt in the knowledge base (core/fixmemory.py)."""

    store: Store
    task: Task
    agent: Any
    outcome: FixOutcome
    started: float

    async def failed(self, summary: str) -> None:
        await self._record("failed", summary)

    async def applied(self, summary: str, commit: str, changes: list[dict[str, Any]]) -> None:
        await self._record("applied", summary, commit, changes)

    async def _record(
        self,
        outcome: str,
        summary: str,
        commit: str | None = None,
        changes: list[dict[str, Any]] | None = None,
    ) -> None:
        await record_attempt(
            self.store,
            self.task,
            strategy=strategy_of(self.agent, self.outcome),
            agent=self.agent.name,
            outcome=outcome,
            duration_s=time.perf_counter() - self.started,
            summary=summary,
            output=self.outcome.output,
            model=self.outcome.model,
            fix_commit=commit,
            changes=changes or [],
        )


async def _settle(
    queue: TaskQueue,
    store: Store,
    result: ApplyResult,
    actor: str,
    publish: Callable[[], None] | None = None,
) -> ApplyResult:
    """Record the outcome (InvalidTransition when someone decided meanwhile), then move the branch."""
    state = TaskState.APPLIED if result.state == "applied" else TaskState.FAILED
    await queue.settle(result.task_id, state, reason=result.summary, actor=actor)
    if publish is not None:
        await asyncio.to_thread(publish)
    await store.record_event("task.apply", result.as_dict())
    return result


async def _verified_fix(
    repo: GitRepository,
    head: str,
    task: Task,
    fixers: list[Fixer],
    findings: list[FindingRecord],
    config: Config,
    past_attempts: str = "",
) -> tuple[Fixer, FixOutcome, dict[str, bytes]] | None:
    """The first fixer's outcome and, when verified, the fix's files read as data; None when no
    fixer has an automatic fix. Each fixer works in a fresh scratch worktree of ``head``, which
    the code it runs may rewrite: only plain files are read back from it, never with git.
    ``past_attempts`` (the knowledge base's briefing, wrapped as data) reaches each fixer as
    ``config["past_attempts"]``, for a prompt."""
    timeout = float(config.get("apply.timeout"))
    for agent in fixers:
        own = [f for f in findings if f.agent == agent.name]
        section = {**config.section(agent.name), "past_attempts": past_attempts}
        async with repo.worktree(head) as tree:
            outcome = await _make_fix(agent, task, own, tree, section, timeout)
            if outcome is None:
                continue
            files: dict[str, bytes] = {}
            if outcome.verified:
                try:
                    files = fix_files(tree, outcome.paths, outcome.contents)
                except UnsafeFix as exc:
                    outcome = FixOutcome(False, str(exc), output=outcome.output)
                if outcome.verified and not files:
                    outcome = FixOutcome(False, "the fix changed no file", output=outcome.output)
            return agent, outcome, files
    return None


async def _make_fix(
    agent: Fixer,
    task: Task,
    findings: list[FindingRecord],
    tree: Path,
    config: dict[str, Any],
    timeout: float,
) -> FixOutcome | None:
    """The agent's fix under a timeout; its failure becomes an unverified outcome, not a crash."""
    try:
        return await asyncio.wait_for(agent.apply_fix(task, findings, tree, config), timeout)
    except TimeoutError:
        return FixOutcome(
            False, f"{agent.name}: making and checking the fix took over {timeout:g} s"
        )
    except Exception as exc:
        return FixOutcome(
            False, f"{agent.name} could not make the fix: {type(exc).__name__}: {exc}"
        )


async def apply_approved(
    store: Store,
    workspace: Workspace,
    *,
    agents: list[Agent],
    repo: GitRepository | None = None,
    report: Callable[[ApplyResult], None] | None = None,
) -> list[ApplyResult]:
    """Every approved task, oldest decision first; ``report`` hears of each as it ends."""
    queue = TaskQueue(store, workspace.config)
    tasks = await queue.list(states=[TaskState.APPROVED], limit=100_000)
    results = []
    for task in sorted(tasks, key=lambda t: (t.updated_at, t.id)):
        results.append(await apply_task(store, workspace, task.id, agents=agents, repo=repo))
        if report is not None:
            report(results[-1])
    return results
