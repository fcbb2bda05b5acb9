"""The circuit breaker kept in the store (``llm_breaker``), so every process honours it.

A hook run is a new process each time: a breaker held in memory would let every run storm a failing
API again. Here the consecutive failures and the time the circuit opened live in one row per
endpoint; each transition is a ``BEGIN IMMEDIATE`` transaction that reads the row, applies the
policy of :class:`CircuitBreaker` and writes the row back. The cool-down is the reader's
``llm.breaker_cooldown``. A half-open trial is claimed with a lease (``trial_until``) so only one
call in any process tries, and a crashed trial does not keep the circuit shut.

Cheap to import (no anthropic SDK): the run-once report and the Costs pane read it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import aiosqlite

from controlroom.core.llm.breaker import CircuitBreaker, CircuitState
from controlroom.core.store import Store


def endpoint_key(base_url: str | None) -> str:
    """The row's key: the base URL the SDK talks to, or 'default' for the SDK's own."""
    return (base_url or "").rstrip("/") or "default"


@dataclass(frozen=True, slots=True)
class BreakerRow:
    """One endpoint's shared state as stored."""

    failures: int = 0
    opened_at: float | None = None
    trial_until: float | None = None
    last_error: str | None = None

    def open_until(self, cooldown: float) -> float | None:
        return None if self.opened_at is None else self.opened_at + cooldown

    def is_open(self, cooldown: float, now: float) -> bool:
        until = self.open_until(cooldown)
        return until is not None and now < until

    def message(self, cooldown: float) -> str:
        """'circuit open until HH:MM after N failures' (local time)."""
        until = time.strftime("%H:%M", time.localtime(self.open_until(cooldown) or 0))
        plural = "" if self.failures == 1 else "s"
        return f"circuit open until {until} after {self.failures} failure{plural}"

    def to_dict(self, cooldown: float, now: float) -> dict[str, object]:
        return {
            "state": "open" if self.is_open(cooldown, now) else "closed",
            "failures": self.failures,
            "opened_at": self.opened_at,
            "reopens_at": self.open_until(cooldown),
            "last_error": self.last_error,
        }


async def read_breaker(store: Store, endpoint: str) -> BreakerRow | None:
    row = await store.fetchone(
        "SELECT failures, opened_at, trial_until, last_error FROM llm_breaker WHERE endpoint = ?",
        (endpoint,),
    )
    return None if row is None else BreakerRow(*row)


class SharedBreaker:
    """The store-backed breaker of one endpoint. ``available()`` answers from the last state read
    (``load``); ``acquire`` and ``record_*`` read and write the store."""

    def __init__(
        self,
        store: Store,
        endpoint: str,
        *,
        threshold: int,
        cooldown: float,
        lease: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.endpoint = endpoint
        self.lease = lease
        self.clock = clock
        self.policy = CircuitBreaker(threshold, cooldown, clock)
        self.row = BreakerRow()

    @property
    def cooldown(self) -> float:
        return self.policy.cooldown

    @property
    def state(self) -> CircuitState:
        return self.policy.state

    def available(self) -> bool:
        """Whether a call may be attempted, as of the last read (does not claim a trial)."""
        return self.policy.available()

    def offline_message(self) -> str:
        return self.row.message(self.cooldown)

    async def load(self) -> None:
        """Read the shared state (another process may have opened or closed the circuit)."""
        self._apply(await read_breaker(self.store, self.endpoint) or BreakerRow())

    async def acquire(self) -> bool:
        """Permission for one call: always when closed, once (in any process) when half-open."""
        async with self.store.transaction() as conn:
            self._apply(await self._read(conn))
            before = self.policy.state
            allowed = self.policy.acquire()
            if allowed and before is CircuitState.HALF_OPEN:
                await self._write(conn)
        return allowed

    async def record_success(self) -> None:
        async with self.store.transaction() as conn:
            self._apply(await self._read(conn))
            dirty = self.row != BreakerRow()
            self.policy.record_success()
            if dirty:
                await self._write(conn)

    async def record_failure(self, error: str) -> bool:
        """Count a failed call; True when this failure opened (or re-opened) the circuit."""
        async with self.store.transaction() as conn:
            self._apply(await self._read(conn))
            opened = self.policy.record_failure(error)
            await self._write(conn)
        return opened

    # -- the row ---------------------------------------------------------------------------------
    async def _read(self, conn: aiosqlite.Connection) -> BreakerRow:
        cursor = await conn.execute(
            "SELECT failures, opened_at, trial_until, last_error FROM llm_breaker"
            " WHERE endpoint = ?",
            (self.endpoint,),
        )
        row = await cursor.fetchone()
        return BreakerRow() if row is None else BreakerRow(*row)

    def _apply(self, row: BreakerRow) -> None:
        self.row = row
        self.policy.failures = row.failures
        self.policy.opened_at = row.opened_at
        self.policy.last_error = row.last_error
        self.policy.trial_in_flight = (row.trial_until or 0) > self.clock()

    async def _write(self, conn: aiosqlite.Connection) -> None:
        now = self.clock()
        trial = now + self.lease if self.policy.trial_in_flight else None
        self.row = BreakerRow(
            self.policy.failures, self.policy.opened_at, trial, self.policy.last_error
        )
        await conn.execute(
            "INSERT INTO llm_breaker (endpoint, failures, opened_at, trial_until, last_error,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (endpoint) DO UPDATE SET"
            " failures = excluded.failures, opened_at = excluded.opened_at,"
            " trial_until = excluded.trial_until, last_error = excluded.last_error,"
            " updated_at = excluded.updated_at",
            (self.endpoint, self.row.failures, self.row.opened_at, trial, self.row.last_error, now),
        )
