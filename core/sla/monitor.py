"""The pipeline of one check run: execute, store, roll up, step the alert machine, notify.

Notices go to the store (the TUI's alert list), to the event bus (``sla.alert``, ``sla.result``)
and, when ``sla.webhook_url`` is set, to the webhook in a background task that never blocks checks.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from controlroom.core import secrets
from controlroom.core.sla import alerts, results, webhook
from controlroom.core.sla.checks import CheckContext, CheckResult, execute
from controlroom.core.sla.definitions import CheckDef, load_checks
from controlroom.core.sla.maintenance import MaintenanceWindow, is_muted, load_windows

T = TypeVar("T")


@dataclass(frozen=True)
class SlaSettings:
    """The ``[sla]`` table, parsed once."""

    checks: tuple[CheckDef, ...]
    windows: tuple[MaintenanceWindow, ...]
    retention_days: float = 30.0
    reminder_interval: float = 3600.0
    cooldown: float = 300.0
    jitter: float = 0.1
    webhook_url: str = ""
    webhook_retries: int = 3
    webhook_timeout: float = 5.0
    gate: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Any) -> SlaSettings:
        secrets.configure(config)  # what the checks' messages must not show
        sla = config.section("sla")
        return cls(
            checks=tuple(load_checks(config)),
            windows=tuple(load_windows(config)),
            retention_days=float(sla.get("retention_days", 30)),
            reminder_interval=float(sla.get("reminder_interval", 3600.0)),
            cooldown=float(sla.get("cooldown", 300.0)),
            jitter=float(sla.get("jitter", 0.1)),
            webhook_url=str(sla.get("webhook_url", "")),
            webhook_retries=int(sla.get("webhook_retries", 3)),
            webhook_timeout=float(sla.get("webhook_timeout", 5.0)),
            gate=tuple(sla.get("gate", [])),
        )

    def check(self, name: str) -> CheckDef | None:
        return next((c for c in self.checks if c.name == name), None)

    def policy(self, check: CheckDef) -> alerts.AlertPolicy:
        return alerts.AlertPolicy(
            check.failure_threshold, check.success_threshold, self.reminder_interval, self.cooldown
        )


_MESSAGES = {
    "violated": "{name} violated: {message}",
    "reminder": "{name} still violated since {since}: {message}",
    "resolved": "{name} resolved: {message}",
}


class SlaMonitor:
    """Runs checks and records everything they cause. Shared by the service and one-shot runs."""

    def __init__(
        self,
        store: Any,
        settings: SlaSettings,
        *,
        base_dir: Path | None = None,
        bus: Any = None,
        clock: Callable[[], float] = time.time,
        webhook_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.settings = settings
        self.bus = bus
        self.clock = clock
        self.context = CheckContext(base_dir or Path.cwd(), clock, store)
        self._webhook_sleep = webhook_sleep
        self._deliveries: set[asyncio.Task[webhook.Delivery]] = set()
        self.monitor_run_id: int | None = None
        self._writes: set[asyncio.Future[Any]] = set()

    async def run_check(self, check: CheckDef) -> CheckResult:
        result = await execute(check, self.context)
        await self.record(check, result)
        return result

    async def _protected(self, work: Awaitable[T]) -> T:
        """Store writes run to the end even when the caller is cancelled: a transaction cut off
        between BEGIN and COMMIT would leave the shared connection inside it."""
        task = asyncio.ensure_future(work)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        return await asyncio.shield(task)

    async def settle(self) -> None:
        """Wait for store writes still under way (after the callers were cancelled)."""
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    async def record(self, check: CheckDef, result: CheckResult) -> list[alerts.Alert]:
        """Store ``result``; step the alert machine; send any notice. Returns stored alerts."""
        return await self._protected(self._record(check, result))

    async def _record(self, check: CheckDef, result: CheckResult) -> list[alerts.Alert]:
        muted = is_muted(self.settings.windows, check.name, result.at)
        result = replace(result, in_maintenance=muted)
        sent: list[alerts.Alert] = []
        async with self.store.transaction() as conn:
            await results.insert_result(conn, result)
            state = await alerts.load_state(conn, check.name)
            kind = None
            if result.is_measurement:
                kind = alerts.step(
                    state, result.ok, now=result.at, muted=muted, policy=self.settings.policy(check)
                )
                await results.save_state(conn, state, result)
            if kind:
                since = time.strftime("%H:%M", time.localtime(state.since or result.at))
                message = _MESSAGES[kind].format(
                    name=check.name, since=since, message=result.message
                )
                sent.append(
                    await alerts.insert_alert(
                        conn,
                        at=result.at,
                        check_name=check.name,
                        kind=kind,
                        severity=check.severity,
                        message=message,
                        value=result.value,
                        threshold=result.threshold,
                    )
                )
        self._publish("sla.result", result=result.as_dict())
        for alert in sent:
            self._publish(
                "sla.alert", alert=alert.as_dict(), message=alert.message, severity=alert.severity
            )
            self._send_webhook(alert, check.unit)
        return sent

    def _publish(self, kind: str, **payload: Any) -> None:
        if self.bus is not None:
            self.bus.publish(kind, **payload)

    def _send_webhook(self, alert: alerts.Alert, unit: str) -> None:
        if not self.settings.webhook_url:
            return
        task = asyncio.create_task(
            webhook.send_and_record(
                self.store,
                self.settings.webhook_url,
                alert,
                unit=unit,
                clock=self.clock,
                retries=self.settings.webhook_retries,
                timeout=self.settings.webhook_timeout,
                sleep=self._webhook_sleep,
            )
        )
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for webhook deliveries still under way (one-shot runs call this before exiting)."""
        if self._deliveries:
            await asyncio.wait(list(self._deliveries), timeout=timeout)

    def cancel_deliveries(self) -> None:
        for task in list(self._deliveries):
            task.cancel()

    # -- the monitor's own runs, so gaps read as "no data" ------------------------------------
    async def begin_run(self, mode: str) -> int:
        now = self.clock()
        run_id: int = await self._protected(
            self.store.execute(
                "INSERT INTO sla_monitor_runs (mode, pid, started_at, last_beat)"
                " VALUES (?, ?, ?, ?)",
                (mode, os.getpid(), now, now),
            )
        )
        self.monitor_run_id = run_id
        return run_id

    async def beat(self, *, stopped: bool = False) -> None:
        if self.monitor_run_id is None:
            return
        now = self.clock()
        await self._protected(
            self.store.execute(
                "UPDATE sla_monitor_runs SET last_beat = ?, stopped_at = ? WHERE id = ?",
                (now, now if stopped else None, self.monitor_run_id),
            )
        )


async def monitored_spans(store: Any, since: float, until: float) -> list[tuple[float, float]]:
    """The spans in [since, until) during which a monitor was running, merged and sorted."""
    rows = await store.fetchall(
        "SELECT started_at, last_beat FROM sla_monitor_runs WHERE last_beat >= ? AND started_at < ?"
        " ORDER BY started_at",
        (since, until),
    )
    spans: list[tuple[float, float]] = []
    for start, end in rows:
        start, end = max(start, since), min(end, until)
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans
