"""Budgets: daily and monthly caps, global and per agent; reservations so concurrent calls in any
process never overshoot a cap; soft-threshold alerts kept in the store.

Every check runs inside ``BEGIN IMMEDIATE``, so two processes reserving at once are serialised by
SQLite. A reservation is an upper bound of the call's cost (prompt estimate + ``max_tokens``
output); it is settled with the real usage in the same transaction that writes the ledger row.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import aiosqlite

from controlroom.core.config import Config
from controlroom.core.errors import ConfigError
from controlroom.core.llm.ledger import CallRecord, insert_call, utc_day
from controlroom.core.store import Store


@dataclass(frozen=True, slots=True)
class Cap:
    scope: str  # "global" or "agent:<name>"
    period: str  # "daily" or "monthly"
    cap_usd: float


@dataclass(slots=True)
class BudgetLine:
    """One cap's state now: what the pane's budget bars and the report show."""

    scope: str
    period: str
    period_key: str
    cap_usd: float
    spent_usd: float
    reserved_usd: float
    percent: float  # spent / cap * 100
    level: int  # highest threshold reached (0, 50, 80, 100 ...)
    exhausted: bool  # at or over the cap: with hard_cap, calls in this scope are refused

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Reservation:
    id: int
    agent: str
    amount_usd: float


def _positive_number(value: Any, where: str, source: str | None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{where} must be a number >= 0", path=source)
    return float(value)


def caps_for(config: Config, agent: str | None = None) -> list[Cap]:
    """The caps that apply (to ``agent``, or every configured cap when None); 0 means none."""
    budgets = config.section("budgets")
    source = str(config.source) if config.source else None
    caps = [
        Cap("global", period, amount)
        for period in ("daily", "monthly")
        if (
            amount := _positive_number(
                budgets.get(f"{period}_usd", 0), f"budgets.{period}_usd", source
            )
        )
    ]
    for name, table in budgets.get("agents", {}).items():
        if agent is not None and name != agent:
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"budgets.agents.{name} must be a table", path=source)
        for key, value in table.items():
            if key not in ("daily_usd", "monthly_usd"):
                raise ConfigError(f"unknown key budgets.agents.{name}.{key}", path=source)
            amount = _positive_number(value, f"budgets.agents.{name}.{key}", source)
            if amount:
                caps.append(Cap(f"agent:{name}", key.removesuffix("_usd"), amount))
    return caps


def period_bounds(period: str, now: float) -> tuple[str, str, str]:
    """(first day, day after the last, key) of the UTC day or month containing ``now``."""
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    if period == "daily":
        return today.isoformat(), (today + dt.timedelta(days=1)).isoformat(), today.isoformat()
    first = today.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first.isoformat(), following.isoformat(), first.strftime("%Y-%m")


async def _usages(
    conn: aiosqlite.Connection, caps: list[Cap], now: float
) -> list[tuple[float, float, str]]:
    """(spent, reserved, period key) of every cap, in one query: one round trip to SQLite's
    thread however many caps apply, so recording a call stays well under a millisecond."""
    if not caps:
        return []
    parts, params, keys = [], [], []
    for cap in caps:
        start, end, key = period_bounds(cap.period, now)
        where, bounds = "day >= ? AND day < ?", [start, end]
        if cap.scope.startswith("agent:"):
            where, bounds = where + " AND agent = ?", [*bounds, cap.scope[6:]]
        parts.append(f"(SELECT SUM(cost_usd) FROM llm_daily WHERE {where})")
        parts.append(
            f"(SELECT SUM(amount_usd) FROM llm_reservations WHERE {where} AND expires_at > ?)"
        )
        params += [*bounds, *bounds, now]
        keys.append(key)
    async with conn.execute(f"SELECT {', '.join(parts)}", params) as cursor:
        row = await cursor.fetchone()
    values = [float(v or 0) for v in row] if row else [0.0] * (2 * len(caps))
    return [(values[2 * i], values[2 * i + 1], keys[i]) for i in range(len(caps))]


def _line(cap: Cap, spent: float, reserved: float, key: str, thresholds: list[int]) -> BudgetLine:
    percent = spent / cap.cap_usd * 100
    level = max((t for t in thresholds if percent >= t), default=0)
    return BudgetLine(
        cap.scope,
        cap.period,
        key,
        cap.cap_usd,
        spent,
        reserved,
        percent,
        level,
        spent >= cap.cap_usd,
    )


def _thresholds(config: Config) -> list[int]:
    return sorted(int(t) for t in config.get("budgets.thresholds"))


async def budget_status(store: Store, config: Config, now: float | None = None) -> list[BudgetLine]:
    """Every configured cap with its spend, reservations and threshold level (empty: no caps)."""
    now = time.time() if now is None else now
    thresholds = _thresholds(config)
    caps = caps_for(config)
    usages = await _usages(store.conn, caps, now)
    return [_line(cap, *usage, thresholds) for cap, usage in zip(caps, usages, strict=True)]


async def recent_alerts(store: Store, *, limit: int = 20) -> list[dict[str, Any]]:
    rows = await store.fetchall("SELECT * FROM llm_alerts ORDER BY id DESC LIMIT ?", (limit,))
    return [dict(r) for r in rows]


class Budget:
    """Reserve before a call, settle after it. ``clock`` is injectable for tests."""

    def __init__(self, store: Store, config: Config, clock: Callable[[], float] = time.time):
        self.store = store
        self.config = config
        self.clock = clock
        self.hard_cap = bool(config.get("budgets.hard_cap"))
        self.ttl = float(config.get("budgets.reservation_ttl"))
        self.thresholds = _thresholds(config)

    async def reserve(self, agent: str, amount_usd: float | None) -> Reservation | str:
        """A reservation, or the reason it was refused (nothing is sent then).

        ``amount_usd`` 0 (a free model) is never refused; None (an unpriced model) is refused only
        when a cap is already used up, since its cost cannot be bounded.
        """
        now = self.clock()
        caps = caps_for(self.config, agent)
        async with self.store.transaction() as conn:
            await conn.execute("DELETE FROM llm_reservations WHERE expires_at <= ?", (now,))
            if self.hard_cap and amount_usd != 0:
                for cap, (spent, reserved, _) in zip(
                    caps, await _usages(conn, caps, now), strict=True
                ):
                    needed = spent + reserved + (amount_usd or 0.0)
                    over = needed >= cap.cap_usd if amount_usd is None else needed > cap.cap_usd
                    if over:
                        return (
                            f"{cap.period} budget of {cap.scope} would be exceeded "
                            f"(${spent:.4f} spent + ${reserved:.4f} reserved of ${cap.cap_usd:.2f})"
                        )
            cursor = await conn.execute(
                "INSERT INTO llm_reservations (at, day, agent, amount_usd, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (now, utc_day(now), agent, amount_usd or 0.0, now + self.ttl),
            )
            return Reservation(cursor.lastrowid or 0, agent, amount_usd or 0.0)

    async def settle(self, reservation: Reservation | None, record: CallRecord) -> list[BudgetLine]:
        """Release the reservation and write the ledger row in one transaction. Returns the
        thresholds newly crossed (also stored in ``llm_alerts``)."""
        now = self.clock()
        crossed: list[BudgetLine] = []
        async with self.store.transaction() as conn:
            if reservation is not None:
                await conn.execute("DELETE FROM llm_reservations WHERE id = ?", (reservation.id,))
            await insert_call(conn, record)
            caps = caps_for(self.config, record.agent)
            for cap, usage in zip(caps, await _usages(conn, caps, now), strict=True):
                line = _line(cap, *usage, self.thresholds)
                for threshold in self.thresholds:
                    if line.percent < threshold:
                        continue
                    cursor = await conn.execute(
                        "INSERT OR IGNORE INTO llm_alerts (at, scope, period, period_key,"
                        " threshold, spent_usd, cap_usd) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            now,
                            cap.scope,
                            cap.period,
                            line.period_key,
                            threshold,
                            line.spent_usd,
                            cap.cap_usd,
                        ),
                    )
                    if cursor.rowcount and line not in crossed:
                        crossed.append(line)
        return crossed

    async def release(self, reservation: Reservation) -> None:
        await self.store.execute("DELETE FROM llm_reservations WHERE id = ?", (reservation.id,))
