"""The live data correlator: what a commit did to the running system.

Public entry points (see docs/correlator.md)."""

from controlroom.core.correlator.predictor import (
    PatternStats,
    Prediction,
    auto_pattern,
    patterns_for,
    predict,
)
from controlroom.core.correlator.sampler import (
    SampleSource,
    SystemProbe,
    collect_samples,
    take_snapshot,
)
from controlroom.core.correlator.scoring import (
    ImpactLevel,
    ImpactResult,
    MetricDelta,
    Thresholds,
    score,
)
from controlroom.core.correlator.service import (
    Baseline,
    Correlator,
    CorrelatorService,
    DeltaResult,
    NoBaselineError,
    header_strip,
    predict_impact,
)
from controlroom.core.correlator.settings import CorrelatorSettings
from controlroom.core.correlator.snapshot import MetricStats, Snapshot, summarize
from controlroom.core.correlator.store import (
    Alert,
    CommitMetrics,
    ImpactSummary,
    alert_history,
    commit_metrics_detail,
    impact_by_commit,
    mark_alerts_notified,
    recent_samples,
)

__all__ = [
    "Alert",
    "Baseline",
    "CommitMetrics",
    "Correlator",
    "CorrelatorService",
    "CorrelatorSettings",
    "DeltaResult",
    "ImpactLevel",
    "ImpactResult",
    "ImpactSummary",
    "MetricDelta",
    "MetricStats",
    "NoBaselineError",
    "PatternStats",
    "Prediction",
    "SampleSource",
    "Snapshot",
    "SystemProbe",
    "Thresholds",
    "alert_history",
    "auto_pattern",
    "collect_samples",
    "commit_metrics_detail",
    "header_strip",
    "impact_by_commit",
    "mark_alerts_notified",
    "patterns_for",
    "predict",
    "predict_impact",
    "recent_samples",
    "score",
    "summarize",
    "take_snapshot",
]
