"""Idle-time hobby sweeps: choosing the next one, running it through the executor, proficiency
and the activity timeline.

Proficiency of a hobby = the approval rate of the tasks its findings produced, with a Beta prior
(``prior_approved``, ``prior_rejected``: 50% with no evidence) and each decision weighted
``0.5 ** (age_days / half_life_days)``. The next hobby is the weakest and stalest: never run first,
then the highest ``(1 - proficiency) + min(hours since last run / 24, 1)``, among those not run in
the last ``min_gap`` seconds.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from controlroom.core.model import AgentRun, RunStatus
from controlroom.core.store import Store
from controlroom.core.subagents.executor import Executor, unit_run
from controlroom.core.subagents.settings import HobbySettings
from controlroom.core.subagents.sql import all_rows
from controlroom.core.subagents.units import WorkUnit

log = logging.getLogger("controlroom.hobbies")

APPROVED_STATES = ("approved", "applied")
REJECTED_STATES = ("rejected",)
DAY = 86_400.0

# Feeds a finished sweep's findings into convergence for the pseudo-commit "HEAD sweep".
SweepSink = Callable[[str, str, AgentRun], Awaitable[Any]]


@dataclass(slots=True)
class Proficiency:
    hobby: str
    approved: float  # decayed weights
    rejected: float
    decided: int  # raw count of decided tasks
    score: float  # 0..1

    @property
    def percent(self) -> int:
        return round(self.score * 100)


@dataclass(slots=True)
class HobbyStatus:
    """What the Sub-agents pane shows per hobby."""

    hobby: str
    proficiency: Proficiency
    last_run_at: float | None
    last_status: str | None
    runs: int
    per_hour: list[int] = field(default_factory=list)  # the last 24 hours, oldest first
    per_day: list[int] = field(default_factory=list)  # the last 14 days, oldest first


async def proficiency(
    store: Store, hobby: str, settings: HobbySettings, *, now: float
) -> Proficiency:
    rows = await all_rows(
        store.conn,
        "SELECT t.state, t.updated_at FROM tasks t WHERE t.id IN"
        " (SELECT DISTINCT task_id FROM findings WHERE agent = ? AND task_id IS NOT NULL)"
        f" AND t.state IN ({','.join('?' * len(APPROVED_STATES + REJECTED_STATES))})",
        (hobby, *APPROVED_STATES, *REJECTED_STATES),
    )
    approved = rejected = 0.0
    for row in rows:
        age_days = max(0.0, now - row["updated_at"]) / DAY
        weight = 0.5 ** (age_days / settings.half_life_days)
        if row["state"] in APPROVED_STATES:
            approved += weight
        else:
            rejected += weight
    a, b = settings.prior_approved, settings.prior_rejected
    score = (approved + a) / (approved + rejected + a + b)
    return Proficiency(hobby, approved, rejected, len(rows), score)


async def timeline(
    store: Store, hobby: str, *, now: float, hours: int = 24, days: int = 14
) -> tuple[list[int], list[int]]:
    """Runs per hour (last ``hours``) and per day (last ``days``), oldest first."""
    since = now - days * DAY
    rows = await all_rows(
        store.conn,
        "SELECT finished_at FROM hobby_runs WHERE hobby = ? AND finished_at >= ?",
        (hobby, since),
    )
    per_hour, per_day = [0] * hours, [0] * days
    for row in rows:
        age = now - row[0]
        hour, day = int(age // 3600), int(age // DAY)
        if 0 <= hour < hours:
            per_hour[hours - 1 - hour] += 1
        if 0 <= day < days:
            per_day[days - 1 - day] += 1
    return per_hour, per_day


async def hobby_statuses(
    store: Store, settings: HobbySettings, *, now: float | None = None
) -> list[HobbyStatus]:
    now = time.time() if now is None else now
    last = {
        r["hobby"]: r
        for r in await all_rows(
            store.conn,
            "SELECT hobby, max(finished_at) AS at, count(*) AS runs,"
            " (SELECT status FROM hobby_runs h2 WHERE h2.hobby = h.hobby"
            "  ORDER BY finished_at DESC LIMIT 1) AS status FROM hobby_runs h GROUP BY hobby",
        )
    }
    statuses = []
    for hobby in settings.sweeps:
        row = last.get(hobby)
        per_hour, per_day = await timeline(store, hobby, now=now)
        statuses.append(
            HobbyStatus(
                hobby,
                await proficiency(store, hobby, settings, now=now),
                row["at"] if row else None,
                row["status"] if row else None,
                row["runs"] if row else 0,
                per_hour,
                per_day,
            )
        )
    return statuses


def choose_next(statuses: list[HobbyStatus], settings: HobbySettings, *, now: float) -> str | None:
    """The weakest and stalest hobby not run within ``min_gap``; None when all ran recently."""
    due = [s for s in statuses if s.last_run_at is None or now - s.last_run_at >= settings.min_gap]
    if not due:
        return None

    def urgency(status: HobbyStatus) -> tuple[int, float, str]:
        if status.last_run_at is None:
            return (1, 1.0 - status.proficiency.score, status.hobby)
        stale = min((now - status.last_run_at) / DAY, 1.0)
        return (0, (1.0 - status.proficiency.score) + stale, status.hobby)

    return max(due, key=lambda s: (urgency(s)[0], urgency(s)[1], _reverse(s.hobby))).hobby


def _reverse(name: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in name)  # ties: alphabetical order wins


class HobbyService:
    """A runtime side service: when the core is idle, run the next hobby sweep."""

    name = "hobbies"

    def __init__(
        self,
        store: Store,
        *,
        executor: Executor,
        head: Callable[[], str | None],
        is_idle: Callable[[], bool | Awaitable[bool]],
        sink: SweepSink | None = None,
        settings: HobbySettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.executor = executor
        self.head = head
        self.is_idle = is_idle
        self.sink = sink
        self.settings = settings or HobbySettings()
        self.clock = clock

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad cycle never stops the service
                log.exception("hobby cycle failed")
            await asyncio.sleep(self.settings.check_interval)

    async def tick(self) -> AgentRun | None:
        """One look: if idle and a hobby is due, run it and return its run."""
        if not self.settings.enabled or not await self._idle():
            return None
        now = self.clock()
        hobby = choose_next(
            await hobby_statuses(self.store, self.settings, now=now), self.settings, now=now
        )
        sha = self.head()
        if hobby is None or sha is None:
            return None
        return await self.run_hobby(hobby, sha)

    async def _idle(self) -> bool:
        answer = self.is_idle()
        if inspect.isawaitable(answer):
            answer = await answer
        return bool(answer)

    async def run_hobby(self, hobby: str, sha: str) -> AgentRun:
        """Run one sweep through the executor, record it, and hand its findings to the sink."""
        started = self.clock()
        result = await self.executor.run(WorkUnit.hobby(hobby, sha))
        run = unit_run(result)
        if run is None:
            run = AgentRun(hobby, RunStatus.FAILED, result.duration_s, error=result.error)
            run.where = result.where
        await self.store.execute(
            "INSERT INTO hobby_runs (hobby, commit_sha, assignment_id, started_at, finished_at,"
            " duration_s, status, ran_on, findings_count, error, metrics_json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                hobby, sha, result.assignment_id, started, self.clock(), run.duration_s,
                run.status.value, run.where, len(run.output.findings), run.error,
                json.dumps(run.output.metrics, default=str),
            ),
        )  # fmt: skip
        if self.sink is not None and run.status is RunStatus.OK:
            await self.sink(hobby, sha, run)
        return run
