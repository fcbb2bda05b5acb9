"""Claims on the analysis of (commit, agent): one process at a time, a lease, takeover, "done".

Before an agent runs on a commit, the process claims (commit, agent) in the ``analysis_claims``
table. A claim is ``running`` under a lease the owner renews while it works, and ``done`` once its
results are stored (in the same transaction as the results). Another process that finds a running
claim waits for it; a claim whose lease ran out, or whose owner process is gone from this host, is
taken over. A done claim is skipped unless the caller forces a re-run.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from controlroom.core.processes import process_alive, start_ticks
from controlroom.core.store import Store

CHANGED, ALL = "changed", "all"


@dataclass(frozen=True, slots=True)
class Owner:
    """Who holds a claim: host, pid, the pid's start time (against pid reuse) and a nonce."""

    host: str
    pid: int
    token: str

    @classmethod
    def this_process(cls) -> Owner:
        pid = os.getpid()
        token = f"{socket.gethostname()}:{pid}:{start_ticks(pid)}:{os.urandom(4).hex()}"
        return cls(socket.gethostname(), pid, token)

    @staticmethod
    def alive(row: Any) -> bool:
        """Whether the owner of a claim row may still be working (only this host is checked)."""
        if row["host"] != socket.gethostname():
            return True  # another machine: the lease decides
        parts = str(row["owner"]).split(":")
        start = parts[2] if len(parts) > 3 else ""
        return process_alive(int(row["pid"]), start)


@dataclass(slots=True)
class ClaimResult:
    """The outcome of claiming agents on one commit."""

    mine: list[str] = field(default_factory=list)  # claimed by us: run them
    done: list[str] = field(default_factory=list)  # already analyzed: skip
    busy: list[str] = field(default_factory=list)  # another live process runs them: wait
    taken_over: list[str] = field(default_factory=list)  # subset of mine: a dead claimant's


class Claims:
    """Claims of one process (one :class:`Owner`) in one store."""

    def __init__(
        self,
        store: Store,
        *,
        lease_s: float,
        owner: Owner | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.lease_s = lease_s
        self.owner = owner or Owner.this_process()
        self.clock = clock

    async def acquire(
        self, sha: str, agents: Iterable[str], *, scope: str = CHANGED, force: bool = False
    ) -> ClaimResult:
        """Claim every free agent of ``agents`` on ``sha`` in one transaction."""
        result = ClaimResult()
        now = self.clock()
        async with self.store.transaction() as conn:
            for agent in agents:
                cursor = await conn.execute(
                    "SELECT * FROM analysis_claims WHERE commit_sha = ? AND agent = ?", (sha, agent)
                )
                row = await cursor.fetchone()
                if row is not None:
                    if row["state"] == "done" and not force and scope in (row["scope"], CHANGED):
                        result.done.append(agent)
                        continue
                    theirs = row["state"] == "running" and row["owner"] != self.owner.token
                    if theirs and row["lease_until"] > now and Owner.alive(row):
                        result.busy.append(agent)
                        continue
                    if theirs:
                        result.taken_over.append(agent)
                await self._take(conn, sha, agent, scope, now)
                result.mine.append(agent)
        return result

    async def _take(
        self, conn: aiosqlite.Connection, sha: str, agent: str, scope: str, now: float
    ) -> None:
        await conn.execute(
            "INSERT INTO analysis_claims (commit_sha, agent, state, scope, owner, host, pid, "
            "claimed_at, lease_until) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (commit_sha, agent) DO UPDATE SET state = 'running', "
            "scope = excluded.scope, owner = excluded.owner, host = excluded.host, "
            "pid = excluded.pid, claimed_at = excluded.claimed_at, "
            "lease_until = excluded.lease_until, finished_at = NULL",
            (sha, agent, scope, self.owner.token, self.owner.host, self.owner.pid, now,
             now + self.lease_s),
        )  # fmt: skip

    async def renew(self, sha: str, agents: list[str]) -> None:
        """Extend the lease of our running claims on ``sha``."""
        if not agents:
            return
        marks = ", ".join("?" * len(agents))
        await self.store.execute(
            f"UPDATE analysis_claims SET lease_until = ? WHERE commit_sha = ? AND owner = ? "
            f"AND state = 'running' AND agent IN ({marks})",
            (self.clock() + self.lease_s, sha, self.owner.token, *agents),
        )

    async def finish(self, conn: aiosqlite.Connection, sha: str, agents: list[str]) -> None:
        """Inside the transaction that stores the results: the claims become ``done``."""
        now = self.clock()
        await conn.executemany(
            "UPDATE analysis_claims SET state = 'done', finished_at = ?, lease_until = 0, "
            "owner = ? WHERE commit_sha = ? AND agent = ?",
            [(now, self.owner.token, sha, agent) for agent in agents],
        )

    async def release(self, sha: str, agents: list[str]) -> None:
        """Give up our unfinished claims (an error or cancellation before the results landed).

        A claim over an earlier finished analysis (a forced re-run) goes back to ``done``.
        """
        if not agents:
            return
        marks = ", ".join("?" * len(agents))
        where = f"commit_sha = ? AND owner = ? AND state = 'running' AND agent IN ({marks})"
        params = (sha, self.owner.token, *agents)
        async with self.store.transaction() as conn:
            await conn.execute(
                f"UPDATE analysis_claims SET state = 'done', lease_until = 0 WHERE {where} AND "
                "EXISTS (SELECT 1 FROM agent_runs r WHERE r.commit_sha = analysis_claims.commit_sha "
                "AND r.agent = analysis_claims.agent)",
                params,
            )
            await conn.execute(f"DELETE FROM analysis_claims WHERE {where}", params)


async def done_shas(store: Store, shas: list[str], agents: list[str]) -> set[str]:
    """The commits of ``shas`` on which every one of ``agents`` has finished."""
    if not shas or not agents:
        return set(shas) if not agents else set()
    found: set[str] = set()
    for at in range(0, len(shas), 400):
        chunk = shas[at : at + 400]
        rows = await store.fetchall(
            f"SELECT commit_sha FROM analysis_claims WHERE state = 'done' "
            f"AND commit_sha IN ({', '.join('?' * len(chunk))}) "
            f"AND agent IN ({', '.join('?' * len(agents))}) "
            f"GROUP BY commit_sha HAVING count(DISTINCT agent) = ?",
            (*chunk, *agents, len(set(agents))),
        )
        found.update(r["commit_sha"] for r in rows)
    return found


__all__ = ["ALL", "CHANGED", "ClaimResult", "Claims", "Owner", "done_shas", "process_alive"]
