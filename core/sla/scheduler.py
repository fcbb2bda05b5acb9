"""Running SLA checks: :class:`SlaService` (a runtime side service) and :func:`run_all_once`.

The service runs every check concurrently on its own interval, with a small random offset so checks
do not fire together. A check whose previous run is still going is not started again; an
``overran`` row records the skipped turn. Time (``clock``) and waiting (``sleep``) are injectable.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from controlroom.core.sla import results
from controlroom.core.sla.checks import CheckResult
from controlroom.core.sla.definitions import CheckDef
from controlroom.core.sla.monitor import SlaMonitor, SlaSettings

log = logging.getLogger(__name__)

HOUSEKEEPING_INTERVAL = 60.0  # monitor heartbeat; pruning runs every PRUNE_INTERVAL
PRUNE_INTERVAL = 3600.0
MAX_JITTER = 5.0


class SlaService:
    """The SLA side service: ``await service.run()`` until cancelled."""

    name = "sla"

    def __init__(
        self,
        store: Any,
        config: Any,
        *,
        base_dir: Path | None = None,
        bus: Any = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = SlaSettings.from_config(config)
        self.monitor = SlaMonitor(
            store, self.settings, base_dir=base_dir, bus=bus, clock=clock, webhook_sleep=sleep
        )
        self.store = store
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.running: dict[str, asyncio.Task[CheckResult | None]] = {}
        self.runs_started = 0
        self.overruns = 0

    def _jitter(self, check: CheckDef) -> float:
        return self.rng.uniform(0, min(check.interval * self.settings.jitter, MAX_JITTER))

    async def run(self) -> None:
        """Loop until cancelled. One check failing, or the store being busy, never stops it."""
        checks = self.settings.checks
        await self.monitor.begin_run("service")
        start = self.clock()
        due = {c.name: start + self._jitter(c) for c in checks}
        next_beat = start + HOUSEKEEPING_INTERVAL
        next_prune = start
        try:
            while True:
                now = self.clock()
                for check in checks:
                    if due[check.name] <= now:
                        await self._start(check)
                        spread = min(check.interval * self.settings.jitter, MAX_JITTER)
                        nxt = (
                            due[check.name] + check.interval + self.rng.uniform(-spread, spread) / 2
                        )
                        due[check.name] = nxt if nxt > now else now + check.interval
                if now >= next_beat:
                    await self._guarded(self.monitor.beat())
                    next_beat = now + HOUSEKEEPING_INTERVAL
                if now >= next_prune:
                    await self._guarded(self.prune(now))
                    next_prune = now + PRUNE_INTERVAL
                wake = min([*due.values(), next_beat, next_prune])
                await self.sleep(max(0.0, wake - self.clock()))
        finally:
            await self._stop()

    async def _start(self, check: CheckDef) -> None:
        if check.name in self.running:
            self.overruns += 1
            overran = CheckResult(
                check.name,
                self.clock(),
                "overran",
                None,
                check.threshold,
                0.0,
                "the previous run was still going: this turn was skipped",
            )
            await self._guarded(self.monitor.record(check, overran))
            return
        self.runs_started += 1
        task = asyncio.create_task(self._run_one(check), name=f"sla:{check.name}")
        self.running[check.name] = task
        name = check.name
        task.add_done_callback(lambda _t: self.running.pop(name, None))

    async def _run_one(self, check: CheckDef) -> CheckResult | None:
        try:
            return await self.monitor.run_check(check)
        except asyncio.CancelledError:
            raise
        except Exception:  # the store was unusable for this one run
            log.exception("SLA check %s could not be recorded", check.name)
            return None

    async def _guarded(self, work: Awaitable[Any]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("SLA housekeeping failed")

    async def prune(self, now: float) -> dict[str, int]:
        return await results.prune(self.store, now=now, retention_days=self.settings.retention_days)

    async def _stop(self) -> None:
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        self.monitor.cancel_deliveries()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.monitor.settle()
        await self._guarded(self.monitor.beat(stopped=True))


async def run_all_once(
    store: Any,
    config: Any,
    *,
    names: Iterable[str] | None = None,
    base_dir: Path | None = None,
    bus: Any = None,
    clock: Callable[[], float] = time.time,
    webhook_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> list[CheckResult]:
    """Run every configured check (or those in ``names``) once, concurrently; record the results,
    step the alerts and wait for webhook deliveries. Results come back in config order."""
    settings = SlaSettings.from_config(config)
    wanted = None if names is None else set(names)
    checks = [c for c in settings.checks if wanted is None or c.name in wanted]
    if not checks:
        return []
    monitor = SlaMonitor(
        store, settings, base_dir=base_dir, bus=bus, clock=clock, webhook_sleep=webhook_sleep
    )
    await monitor.begin_run("once")
    try:
        found = await asyncio.gather(*(monitor.run_check(c) for c in checks))
    finally:
        await monitor.beat(stopped=True)
    await monitor.drain(timeout=settings.webhook_timeout * (settings.webhook_retries + 1) + 30)
    return list(found)
