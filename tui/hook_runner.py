"""``controlroom hook run --sha SHA``: what the post-commit hook starts, detached, for each commit.

Queues the commit, takes the correlator's baseline when switched on, then drains the queue if no
other runner is at it (see core/hookqueue.py). A store locked by another process is retried with
backoff for up to ``RETRY_SECONDS``; a commit is removed from the queue only once its analysis is
stored. Everything it has to say goes to ``.controlroom/hook.log``, one escaped line per entry.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from controlroom.core.errors import ControlroomError, StoreError, UsageError
from controlroom.core.hookqueue import HookSpool, oldest_first
from controlroom.core.workspace import Workspace, resolve_workspace

RETRY_SECONDS = 300.0  # a locked store is retried this long before the runner gives up for now
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 15.0
T = TypeVar("T")


def run(args: argparse.Namespace) -> int:
    """Queue ``args.sha`` and, unless a runner is already draining, drain the queue."""
    workspace = resolve_workspace(args.repo, args.db, args.config)
    spool = HookSpool(workspace.repo_path)
    if workspace.config.notice:  # ignored untrusted settings: nobody reads a detached stderr
        spool.log(f"warning: {workspace.config.notice}")
    try:
        if args.sha:
            try:
                spool.add(args.sha)
            except ValueError as exc:
                raise UsageError(f"--sha: {exc}") from None
            spool.log(f"queued {args.sha}")
            _baseline(args, workspace, spool)
        given_up: set[str] = set()
        while set(spool.pending()) - given_up:
            with spool.runner_lock() as mine:
                if not mine:
                    return 0  # the runner holding the lock re-checks the queue before it exits
                spool.log("runner started")
                try:
                    asyncio.run(_drain(spool, workspace, args.agents, given_up))
                finally:
                    spool.log("runner exited")
        return 0
    except Exception as exc:  # detached: nobody reads stderr, so the log gets one line
        spool.log(f"error: {_describe(exc)}")
        raise


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ControlroomError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _baseline(args: argparse.Namespace, workspace: Workspace, spool: HookSpool) -> None:
    """The live correlator's baseline for the new commit, only when baseline_on_commit is on."""
    if not workspace.config.get("correlator.baseline_on_commit"):
        return  # the common case: no sampler imported, this process exits at once
    from controlroom.tui.commands.correlate import run_baseline

    ns = argparse.Namespace(
        repo=args.repo,
        db=args.db,
        config=args.config,
        commit=args.sha,
        if_enabled=True,
        samples=None,
        interval=None,
        json=False,
    )
    try:
        run_baseline(ns)
    except Exception as exc:  # the analysis still runs
        spool.log(f"baseline {args.sha} failed: {_describe(exc)}")


def _agents(workspace: Workspace, wanted: str | None) -> list[Any]:
    from controlroom.core.plugins import load_named_agents

    names = (
        [n.strip() for n in wanted.split(",") if n.strip()]
        if wanted
        else list(workspace.config.get("agents.enabled"))
    )
    agents, missing = load_named_agents(names)
    if wanted and missing:
        raise UsageError(f"--agents: not installed: {', '.join(missing)}")
    if not agents:
        raise UsageError("no agent to run: none of agents.enabled is installed")
    return agents


def is_locked(exc: BaseException) -> bool:
    """The store was busy: another process held its write lock past the busy timeout."""
    text = str(exc).lower()
    if isinstance(exc, sqlite3.OperationalError | StoreError):
        return "locked" in text or "busy" in text
    return False


async def with_retry(
    spool: HookSpool, what: str, action: Callable[[], Awaitable[T]], *, bound: float
) -> T:
    """``action()``, retried with doubling backoff while the store is locked, up to ``bound`` s."""
    deadline = time.monotonic() + bound
    delay = FIRST_BACKOFF
    while True:
        try:
            return await action()
        except Exception as exc:
            if not is_locked(exc) or time.monotonic() + delay > deadline:
                raise
            spool.log(f"{what}: store locked, retrying in {delay:g} s")
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_BACKOFF)


async def _drain(
    spool: HookSpool, workspace: Workspace, wanted: str | None, given_up: set[str]
) -> None:
    """Analyze every queued commit once, parents before children, until the queue is empty."""
    from controlroom.core.git import GitRepository
    from controlroom.core.pipeline import analyze_commit
    from controlroom.core.store import Store

    agents = _agents(workspace, wanted)
    store = await with_retry(
        spool, "open", lambda: Store.open(workspace.db_path), bound=RETRY_SECONDS
    )
    repo = GitRepository(workspace.repo_path)
    try:
        while True:
            pending = [sha for sha in spool.pending() if sha not in given_up]
            if not pending:
                return
            ordered, missing = oldest_first(workspace.repo_path, pending)
            spool.log(f"draining {len(ordered)} commit(s), oldest first")
            for sha in missing:
                spool.log(f"dropped {sha}: no such commit in the repository any more")
                spool.done(sha)
            for sha in ordered:

                def analyze(sha: str = sha) -> Awaitable[Any]:
                    return analyze_commit(store, workspace, sha, agents, repo=repo)

                try:
                    report = await with_retry(spool, sha, analyze, bound=RETRY_SECONDS)
                except Exception as exc:
                    given_up.add(sha)  # stays queued: the next commit's runner tries again
                    spool.log(f"kept {sha} queued: {_describe(exc)}")
                    continue
                spool.done(sha)
                spool.log(f"analyzed {sha}: {len(report.findings)} finding(s)")
    finally:
        repo.close()
        await store.close()
