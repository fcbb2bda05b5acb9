"""Baseline -> delta -> store -> alerts -> prediction, with injected samples and a real store."""

from __future__ import annotations

import dataclasses

import pytest

from controlroom.core.config import Config
from controlroom.core.correlator import (
    Correlator,
    CorrelatorSettings,
    ImpactLevel,
    NoBaselineError,
    PatternStats,
    Thresholds,
    alert_history,
    auto_pattern,
    commit_metrics_detail,
    impact_by_commit,
    mark_alerts_notified,
    patterns_for,
    predict,
    predict_impact,
)
from controlroom.core.settings import load_defaults


class ScriptedSource:
    """A sample source that hands out prepared readings, in order."""

    def __init__(self, samples: list[dict[str, float]]) -> None:
        self.samples = list(samples)
        self.primed = 0

    def prime(self) -> None:
        self.primed += 1

    def read(self) -> dict[str, float]:
        return self.samples.pop(0)


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def readings(cpu: float, memory: float, response: float | None = None, n: int = 3):
    sample = {"cpu_percent": cpu, "memory_percent": memory}
    if response is not None:
        sample["http.api.response_ms"] = response
    return [dict(sample) for _ in range(n)]


def correlator(store, samples, settings=None, sleeps=None, now=1000.0):
    settings = settings or CorrelatorSettings(samples=3, sample_interval=1.0)
    return Correlator(
        store, settings, source=ScriptedSource(samples), sleep=sleeps or Sleeps(), clock=lambda: now
    )


async def test_baseline_then_delta_scores_stores_and_alerts(store) -> None:
    sleeps = Sleeps()
    corr = correlator(store, readings(10, 40, 20) + readings(32, 41, 30), sleeps=sleeps)
    baseline = await corr.capture_baseline("a" * 40, ["app/web.py"])
    assert baseline.snapshot.mean("cpu_percent") == 10
    result = await corr.capture_delta("a" * 40)
    assert sleeps.calls == [1.0, 1.0, 1.0, 60.0, 1.0, 1.0, 1.0]  # settle wait 60 s by default
    assert result.impact.level is ImpactLevel.CRITICAL
    assert result.alert and result.learned
    alerts = await alert_history(store)
    assert [(a.commit_sha, a.level, a.notified) for a in alerts] == [
        ("a" * 40, ImpactLevel.CRITICAL, False)
    ]
    assert "cpu_percent +22.0 points" in alerts[0].reason
    await mark_alerts_notified(store, [alerts[0].id], at=2000.0)
    assert await alert_history(store, unnotified_only=True) == []

    detail = await commit_metrics_detail(store, "a" * 40)
    assert detail is not None and detail.files == ["app/web.py"]
    by_name = {d.name: d for d in detail.deltas}
    assert by_name["cpu_percent"].before.mean == 10 and by_name["cpu_percent"].after.mean == 32
    assert by_name["http.api.response_ms"].delta == pytest.approx(10.0)
    assert detail.impact.label == "critical" and detail.impact.alert_triggered


async def test_wait_overrides_the_settle_time(store) -> None:
    sleeps = Sleeps()
    corr = correlator(store, readings(10, 40) * 2, sleeps=sleeps)
    await corr.capture_baseline("b" * 40, [])
    await corr.capture_delta("b" * 40, wait=0)
    assert 60.0 not in sleeps.calls and len(sleeps.calls) == 6


async def test_medium_impact_raises_no_alert(store) -> None:
    corr = correlator(store, readings(10, 40) + readings(16, 40))
    await corr.capture_baseline("c" * 40, ["x.py"])
    result = await corr.capture_delta("c" * 40, wait=0)
    assert result.impact.level is ImpactLevel.MEDIUM and not result.alert
    assert await alert_history(store) == []


async def test_delta_without_baseline_is_an_error(store) -> None:
    with pytest.raises(NoBaselineError, match="no baseline for dddddddddddd"):
        await correlator(store, readings(1, 1)).capture_delta("d" * 40, wait=0)


async def test_impact_by_commit_reports_pending_measured_and_missing(store) -> None:
    corr = correlator(store, readings(10, 40) * 3)
    await corr.capture_baseline("e" * 40, [])
    await corr.capture_delta("e" * 40, wait=0)
    await corr.capture_baseline("f" * 40, [])
    found = await impact_by_commit(store, ["e" * 40, "f" * 40, "0" * 40])
    assert found["0" * 40] is None
    assert found["f" * 40].label == "pending" and not found["f" * 40].measured
    assert found["e" * 40].label == "none" and found["e" * 40].level is ImpactLevel.NONE


async def test_within_noise_is_said_in_the_stored_result(store) -> None:
    noisy = [{"cpu_percent": v, "memory_percent": 40.0} for v in (5.0, 25.0, 5.0, 25.0)]
    settings = CorrelatorSettings(samples=4, sample_interval=0.0)
    corr = correlator(store, noisy + readings(25, 40, n=4), settings=settings)
    await corr.capture_baseline("9" * 40, [])
    result = await corr.capture_delta("9" * 40, wait=0)
    assert result.impact.within_noise and "within noise" in result.impact.summary
    summary = (await impact_by_commit(store, ["9" * 40]))["9" * 40]
    assert summary.label == "none (noise)" and "within noise" in summary.summary


# -- prediction ------------------------------------------------------------------------------------
def test_running_averages_and_confidence_after_n_samples() -> None:
    stats = PatternStats("agents/*.py")
    for cpu, memory, response in [(2.0, 10.0, None), (4.0, 20.0, 30.0), (9.0, 0.0, 60.0)]:
        stats = stats.learn(cpu, memory, response, at=5.0)
    assert stats.samples == 3 and stats.response_samples == 2
    assert stats.cpu_avg == pytest.approx(5.0)
    assert stats.memory_avg == pytest.approx(10.0)
    assert stats.response_avg_ms == pytest.approx(45.0)
    prediction = predict([stats], Thresholds.defaults(), confidence_samples=5.0)
    assert prediction is not None
    assert prediction.level is ImpactLevel.MEDIUM  # cpu +5 / memory +10 / response +45
    assert prediction.confidence == pytest.approx(3 / 8)
    more = stats
    for _ in range(17):
        more = more.learn(5.0, 10.0, 45.0, at=6.0)
    assert predict([more], Thresholds.defaults()).confidence == pytest.approx(20 / 25)


def test_prediction_rests_on_the_worst_pattern() -> None:
    mild = PatternStats("docs/*.md", cpu_avg=0.5, samples=30)
    bad = PatternStats("core/*.py", cpu_avg=12.0, samples=2)
    prediction = predict([mild, bad], Thresholds.defaults())
    assert prediction.pattern == "core/*.py" and prediction.level is ImpactLevel.HIGH
    assert [m.pattern for m in prediction.matched] == ["core/*.py", "docs/*.md"]
    assert predict([PatternStats("x/*")], Thresholds.defaults()) is None


def test_patterns_for_files() -> None:
    assert auto_pattern("agents/critic.py") == "agents/*.py"
    assert auto_pattern("setup.py") == "*.py"
    assert auto_pattern("bin/run") == "bin/*"
    assert patterns_for(["agents/a.py", "agents/b.py"], ["agents/*"], auto=True) == [
        "agents/*",
        "agents/*.py",
    ]
    assert patterns_for(["README.md"], ["agents/*"], auto=False) == []


async def test_each_delta_teaches_the_model_once_and_predict_impact_reads_it(store) -> None:
    config = Config(load_defaults())
    settings = dataclasses.replace(CorrelatorSettings.from_config(config), samples=3)
    for index, cpu_after in enumerate([16.0, 22.0, 28.0]):  # +6, +12, +18 -> average +12
        sha = f"{index}" * 40
        corr = correlator(store, readings(10, 40, 20) + readings(cpu_after, 40, 20), settings)
        await corr.capture_baseline(sha, ["agents/impact.py", "README.md"])
        assert (await corr.capture_delta(sha, wait=0)).learned
    # A second delta for the same baseline does not count twice.
    corr = correlator(store, readings(50, 40, 20), settings)
    assert not (await corr.capture_delta("0" * 40, wait=0)).learned

    prediction = await predict_impact(store, ["agents/new_agent.py"], config)
    assert prediction is not None
    assert prediction.pattern == "agents/*.py" and prediction.samples == 3
    assert prediction.cpu_delta == pytest.approx(12.0)
    assert prediction.response_delta_ms == pytest.approx(0.0)
    assert prediction.level is ImpactLevel.HIGH
    assert prediction.confidence == pytest.approx(3 / 8)
    assert "confidence 0.38" in prediction.summary
    assert await predict_impact(store, ["tui/app.tcss"], config) is None
    # The table alone works too, and configured patterns are consulted.
    table = {**config.section("correlator"), "file_patterns": ["agents/**"]}
    assert (await predict_impact(store, ["agents/x.py"], table)).pattern == "agents/*.py"
