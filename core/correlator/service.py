"""The correlator's entry points: baselines and deltas per commit, predictions, the TUI's data, and
the runtime service that keeps recent samples for the sparkline."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlroom.core.config import Config
from controlroom.core.correlator import store as cstore
from controlroom.core.correlator.predictor import Prediction, patterns_for, predict
from controlroom.core.correlator.sampler import SampleSource, Sleeper, SystemProbe, take_snapshot
from controlroom.core.correlator.scoring import ImpactLevel, ImpactResult, score
from controlroom.core.correlator.settings import CorrelatorSettings
from controlroom.core.correlator.snapshot import Snapshot
from controlroom.core.errors import ControlroomError, ExitCode, RepositoryError
from controlroom.core.events import EventBus
from controlroom.core.gitmetrics import collect_git_stats
from controlroom.core.store import Store

log = logging.getLogger(__name__)
ALERT_LEVELS = (ImpactLevel.HIGH, ImpactLevel.CRITICAL)


class NoBaselineError(ControlroomError):
    """``correlate delta`` for a commit that has no baseline."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Baseline:
    commit: str
    files: list[str]
    snapshot: Snapshot

    def to_dict(self) -> dict[str, Any]:
        return {"commit": self.commit, "files": self.files, "before": self.snapshot.to_dict()}


@dataclass(frozen=True)
class DeltaResult:
    commit: str
    files: list[str]
    before: Snapshot
    after: Snapshot
    impact: ImpactResult
    alert: bool
    learned: bool  # this delta taught the prediction model (first delta after a baseline)
    waited_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "files": self.files,
            "impact": self.impact.level.value,
            "within_noise": self.impact.within_noise,
            "summary": self.impact.summary,
            "reasons": self.impact.reasons,
            "alert": self.alert,
            "learned": self.learned,
            "waited_s": self.waited_s,
            "deltas": [d.to_dict() for d in self.impact.deltas.values()],
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
        }


def probe_from_settings(settings: CorrelatorSettings) -> SystemProbe:
    return SystemProbe(
        settings.services,
        settings.endpoints,
        http_timeout=settings.http_timeout,
        disk_path=settings.disk_path,
    )


class Correlator:
    """Takes snapshots before and after a commit is deployed and scores the difference."""

    def __init__(
        self,
        store: Store,
        settings: CorrelatorSettings | None = None,
        *,
        source: SampleSource | None = None,
        sleep: Sleeper = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.settings = settings or CorrelatorSettings()
        self.source = source or probe_from_settings(self.settings)
        self.sleep = sleep
        self.clock = clock

    async def snapshot(self) -> Snapshot:
        return await take_snapshot(
            self.source,
            count=self.settings.samples,
            interval=self.settings.sample_interval,
            sleep=self.sleep,
            clock=self.clock,
        )

    async def capture_baseline(self, commit: str, files_changed: Sequence[str]) -> Baseline:
        """Measure now and keep it as ``commit``'s baseline (replacing an earlier one)."""
        before = await self.snapshot()
        await cstore.save_baseline(self.store, commit, files_changed, before, self.clock())
        return Baseline(commit, list(files_changed), before)

    async def capture_delta(self, commit: str, *, wait: float | None = None) -> DeltaResult:
        """Wait for the system to settle, measure, score against the baseline, store, alert on
        high/critical and teach the prediction model."""
        found = await cstore.load_baseline(self.store, commit)
        if found is None:
            raise NoBaselineError(
                f"no baseline for {commit[:12]}: run 'controlroom correlate baseline' first"
            )
        files, before = found
        settle = self.settings.settle_wait if wait is None else wait
        if settle > 0:
            await self.sleep(settle)
        after = await self.snapshot()
        impact = score(
            before, after, self.settings.thresholds, noise_sigmas=self.settings.noise_sigmas
        )
        alert = impact.level in ALERT_LEVELS
        teach = dict.fromkeys(
            patterns_for(files, self.settings.file_patterns, auto=self.settings.auto_patterns),
            _teaching(impact),
        )
        learned = await cstore.save_measurement(
            self.store, commit, after, impact, at=self.clock(), alert=alert, teach=teach
        )
        return DeltaResult(commit, files, before, after, impact, alert, learned, settle)


def _teaching(impact: ImpactResult) -> tuple[float, float, float | None]:
    """(system CPU delta, system memory delta, worst HTTP response-time delta or None)."""

    def delta(name: str) -> float:
        found = impact.deltas.get(name)
        return found.delta if found is not None and found.delta is not None else 0.0

    responses = [
        d.delta
        for name, d in impact.deltas.items()
        if name.startswith("http.") and name.endswith(".response_ms") and d.delta is not None
    ]
    return delta("cpu_percent"), delta("memory_percent"), max(responses) if responses else None


async def predict_impact(
    store: Store, files: Sequence[str], config: Config | Mapping[str, Any] | None
) -> Prediction | None:
    """The predicted impact of changing ``files``, None when no matching pattern has history.
    ``config`` is the whole :class:`Config` or its ``correlator`` table."""
    settings = CorrelatorSettings.from_config(config)
    patterns = patterns_for(files, settings.file_patterns, auto=settings.auto_patterns)
    stats = await cstore.pattern_stats(store, patterns)
    return predict(stats, settings.thresholds, confidence_samples=settings.confidence_samples)


async def header_strip(
    store: Store,
    repo_path: Path | str,
    config: Config | Mapping[str, Any] | None,
    *,
    limit: int = 60,
) -> dict[str, Any]:
    """The Convergence pane's header: git velocity and conventional-commit %, and the runtime's
    recent CPU and memory samples (oldest first) for a sparkline. ``velocity`` is None when git
    cannot be read."""
    settings = CorrelatorSettings.from_config(config)
    try:
        stats = await asyncio.to_thread(
            collect_git_stats, Path(repo_path), days=settings.git_window_days
        )
    except RepositoryError as exc:
        log.warning("header strip: %s", exc)
        stats = None
    samples = await cstore.recent_samples(store, limit=limit)
    return {
        "window_days": settings.git_window_days,
        "velocity": None
        if stats is None
        else {
            "per_hour": stats.per_hour,
            "per_day": stats.per_day,
            "per_week": stats.per_week,
            "commits": stats.commits,
        },
        "conventional_percent": None if stats is None else stats.conventional_percent,
        "cpu": [s["cpu_percent"] for s in samples],
        "memory": [s["memory_percent"] for s in samples],
        "sampled_at": [s["at"] for s in samples],
    }


class CorrelatorService:
    """Runtime side service: one reading every ``correlator.runtime_interval`` seconds, kept in
    memory (:attr:`recent`) and in the store (newest ``runtime_keep``), published on the bus as
    ``correlator.sample``. Returns at once when ``correlator.enabled`` is false."""

    name = "correlator"

    def __init__(
        self,
        store: Store,
        config: Config | Mapping[str, Any] | None = None,
        *,
        bus: EventBus | None = None,
        source: SampleSource | None = None,
        sleep: Sleeper = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.settings = CorrelatorSettings.from_config(config)
        self.bus = bus
        self.source = source or probe_from_settings(self.settings)
        self.sleep = sleep
        self.clock = clock
        self.recent: deque[dict[str, float]] = deque(maxlen=self.settings.runtime_keep)

    async def run(self) -> None:
        if not self.settings.enabled:
            return
        await asyncio.to_thread(self.source.prime)
        while True:
            await self.sleep(self.settings.runtime_interval)
            try:
                await self.sample_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad cycle never stops the service
                log.exception("correlator sample failed")

    async def sample_once(self) -> dict[str, float]:
        sample = await asyncio.to_thread(self.source.read)
        at = self.clock()
        self.recent.append({"at": at, **sample})
        await cstore.add_runtime_sample(self.store, sample, at, self.settings.runtime_keep)
        if self.bus is not None:
            self.bus.publish("correlator.sample", at=at, **sample)
        return sample
