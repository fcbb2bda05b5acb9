"""Impact scores from injected samples: every threshold edge, noise awareness, availability."""

from __future__ import annotations

import pytest

from controlroom.core.correlator import ImpactLevel, Thresholds, score, summarize

THRESHOLDS = Thresholds.defaults()


def snap(**series: list[float]):
    """A snapshot from per-metric series of readings (sample i takes the i-th value of each)."""
    length = max(len(v) for v in series.values())
    samples = [{k: v[i] for k, v in series.items() if i < len(v)} for i in range(length)]
    return summarize(samples, taken_at=0.0)


EDGES = [
    # metric, increase, expected level
    ("cpu_percent", 20.0, "critical"),
    ("cpu_percent", 19.9, "high"),
    ("cpu_percent", 10.0, "high"),
    ("cpu_percent", 9.9, "medium"),
    ("cpu_percent", 5.0, "medium"),
    ("cpu_percent", 4.9, "low"),
    ("cpu_percent", 2.0, "low"),
    ("cpu_percent", 1.9, "none"),
    ("memory_percent", 30.0, "critical"),
    ("memory_percent", 29.9, "high"),
    ("memory_percent", 15.0, "high"),
    ("memory_percent", 14.9, "medium"),
    ("memory_percent", 10.0, "medium"),
    ("memory_percent", 9.9, "low"),
    ("memory_percent", 5.0, "low"),
    ("memory_percent", 4.9, "none"),
    ("http.api.response_ms", 100.0, "critical"),
    ("http.api.response_ms", 99.0, "high"),
    ("http.api.response_ms", 50.0, "high"),
    ("http.api.response_ms", 49.0, "medium"),
    ("http.api.response_ms", 25.0, "medium"),
    ("http.api.response_ms", 24.0, "low"),
    ("http.api.response_ms", 10.0, "low"),
    ("http.api.response_ms", 9.0, "none"),
    ("service.web.cpu_percent", 20.0, "critical"),
    ("service.web.memory_percent", 15.0, "high"),
]


@pytest.mark.parametrize(("metric", "increase", "expected"), EDGES)
def test_each_threshold_edge_scores_its_level(metric: str, increase: float, expected: str) -> None:
    before = snap(**{metric: [40.0, 40.0, 40.0]})
    after = snap(**{metric: [40.0 + increase] * 3})
    result = score(before, after, THRESHOLDS)
    assert result.level is ImpactLevel(expected)
    assert result.deltas[metric].delta == pytest.approx(increase)
    if expected != "none":
        assert result.summary.startswith(f"{expected}: {metric} +")
        assert result.reasons == [result.deltas[metric].note]
    else:
        assert not result.within_noise
        assert result.summary == "none: no change reached the low thresholds"


def test_worst_metric_sets_the_level() -> None:
    before = snap(cpu_percent=[10.0] * 3, memory_percent=[50.0] * 3)
    after = snap(cpu_percent=[13.0] * 3, memory_percent=[66.0] * 3)
    result = score(before, after, THRESHOLDS)
    assert result.level is ImpactLevel.HIGH
    assert len(result.reasons) == 2


def test_a_decrease_is_not_impact() -> None:
    result = score(snap(cpu_percent=[60.0] * 3), snap(cpu_percent=[10.0] * 3), THRESHOLDS)
    assert result.level is ImpactLevel.NONE
    assert not result.within_noise


def test_delta_inside_the_baseline_spread_is_noise_not_impact() -> None:
    noisy = snap(cpu_percent=[5.0, 25.0, 5.0, 25.0])  # mean 15, stdev 11.5
    after = snap(cpu_percent=[25.0] * 4)  # +10: "high" if the baseline were quiet
    result = score(noisy, after, THRESHOLDS)
    assert result.level is ImpactLevel.NONE
    assert result.within_noise
    assert result.deltas["cpu_percent"].within_noise
    assert result.deltas["cpu_percent"].noise == pytest.approx(11.547, abs=1e-3)
    assert result.summary.startswith("none: within noise (cpu_percent +10.0 points within noise")

    quiet = snap(cpu_percent=[15.0] * 4)
    assert score(quiet, after, THRESHOLDS).level is ImpactLevel.HIGH


def test_noise_band_scales_with_noise_sigmas() -> None:
    noisy = snap(cpu_percent=[5.0, 25.0, 5.0, 25.0])
    after = snap(cpu_percent=[25.0] * 4)
    assert score(noisy, after, THRESHOLDS, noise_sigmas=0.5).level is ImpactLevel.HIGH


def test_a_service_that_goes_down_is_critical() -> None:
    before = snap(**{"service.web.up": [1.0, 1.0, 1.0]})
    after = snap(**{"service.web.up": [0.0, 0.0, 1.0]})
    result = score(before, after, THRESHOLDS)
    assert result.level is ImpactLevel.CRITICAL
    assert result.reasons == ["service.web down after the change"]


def test_unscored_metrics_are_reported_not_scored() -> None:
    result = score(snap(load_1m=[0.1] * 3), snap(load_1m=[9.0] * 3), THRESHOLDS)
    assert result.level is ImpactLevel.NONE
    assert result.deltas["load_1m"].delta == pytest.approx(8.9)


def test_metric_missing_after_has_no_delta() -> None:
    before = snap(**{"http.api.response_ms": [10.0] * 3, "cpu_percent": [1.0] * 3})
    result = score(before, snap(cpu_percent=[1.0] * 3), THRESHOLDS)
    assert result.deltas["http.api.response_ms"].delta is None
    assert "not seen after" in result.deltas["http.api.response_ms"].note


def test_summarize_mean_and_spread() -> None:
    s = summarize([{"a": 1.0, "b": 5.0}, {"a": 3.0}], taken_at=12.0, duration_s=2.0)
    assert s.metrics["a"].mean == 2.0
    assert s.metrics["a"].spread == pytest.approx(1.41421, abs=1e-4)
    assert s.metrics["b"].count == 1 and s.metrics["b"].spread == 0.0
    assert s.samples == 2
    again = type(s).from_dict(s.to_dict())
    assert again == s
