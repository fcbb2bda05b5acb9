"""Convergence: findings from every agent become deduplicated, scored candidates for the queue.

- The fingerprint is the problem key + path + enclosing symbol + the normalised text of the flagged
  line, so it survives line shifts and unrelated edits. The problem key is the rule, except where
  two rules name one problem (the coverage sweep's COV100 "looks untested" is the tests agent's
  TEST001 "not exercised"): they share the key of the rule whose agent can fix it.
- Consensus: two or more independent *detectors* on one fingerprint give high confidence. Two agents
  running one shared check (the N+1 detector) are one vote; findings that merely share a symbol
  never raise confidence or priority (the reason lists them as "also on this symbol").
- Any critical finding means "review now"; otherwise the detectors' own confidence counts.
- Learned weights (approvals and rejections per agent and rule) raise or lower confidence.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from controlroom.core.model import Finding, Severity

if TYPE_CHECKING:
    from controlroom.core.learning import LearnedWeights

_SPACE = re.compile(r"\s+")
_SEVERITY_BASE = {
    Severity.CRITICAL: 80,
    Severity.HIGH: 60,
    Severity.MEDIUM: 40,
    Severity.LOW: 20,
    Severity.INFO: 0,
}


def normalise_snippet(text: str) -> str:
    """The flagged line without indentation, trailing comment or runs of white space."""
    code = text.split("  #", 1)[0] if "  #" in text else text
    return _SPACE.sub(" ", code).strip()


# Rules that report one problem under another rule's name: rule -> the problem key (the rule of
# the agent able to fix it, so the merged task keeps that agent). The impact agent's IMP106 (a
# deprecation warning without stacklevel) is ruff's B028 on the same call, which the critic fixes.
PROBLEM_KEYS = {"COV100": "TEST001", "IMP106": "B028"}


# A grouped task's fingerprint starts with this (core/grouping.py): its items have their own.
GROUP_PREFIX = "group:"


def is_group(fingerprint: str) -> bool:
    """Whether a task's fingerprint is a group's (one task listing several findings)."""
    return fingerprint.startswith(GROUP_PREFIX)


def problem_key(rule: str) -> str:
    return PROBLEM_KEYS.get(rule, rule)


def fingerprint(finding: Finding) -> str:
    """A stable id for "this problem in this place", independent of the line number."""
    parts = (
        problem_key(finding.rule),
        finding.path,
        finding.symbol or "",
        normalise_snippet(finding.snippet),
    )
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Weight:
    """What past decisions say about one (agent, rule): approvals and rejections."""

    approved: int = 0
    rejected: int = 0

    @property
    def value(self) -> float:
        """Laplace-smoothed approval rate: 0.5 with no history."""
        return (self.approved + 1) / (self.approved + self.rejected + 2)


@dataclass(slots=True)
class Converged:
    """One fingerprint's findings merged: what becomes (or updates) one task."""

    fingerprint: str
    findings: list[Finding]
    agents: list[str]
    severity: Severity
    confidence: float
    confidence_reason: str
    consensus: bool
    review_now: bool
    priority: int
    primary: Finding = field(repr=False)

    @property
    def rule(self) -> str:
        return self.primary.rule

    @property
    def path(self) -> str:
        return self.primary.path

    @property
    def line(self) -> int:
        return self.primary.line

    @property
    def symbol(self) -> str | None:
        return self.primary.symbol

    @property
    def message(self) -> str:
        return self.primary.message

    @property
    def suggested_fix(self) -> str | None:
        for finding in sorted(self.findings, key=lambda f: -f.confidence):
            if finding.suggested_fix:
                return finding.suggested_fix
        return None


def severity_base(severity: Severity) -> int:
    """The lowest priority a task of ``severity`` has before learning moves it."""
    return _SEVERITY_BASE[severity]


def priority_of(severity: Severity, confidence: float, consensus: bool) -> int:
    return min(100, _SEVERITY_BASE[severity] + round(confidence * 15) + (5 if consensus else 0))


def converge(
    findings: Iterable[Finding],
    weights: Mapping[tuple[str, str], Weight] | None = None,
    *,
    consensus_min_agents: int = 2,
    sweep_agents: Collection[str] = (),
) -> list[Converged]:
    """Group by fingerprint, score each group, and return them highest priority first."""
    weights = weights or {}
    groups: dict[str, list[Finding]] = defaultdict(list)
    problems_by_symbol: dict[tuple[str, str], set[str]] = defaultdict(set)
    for finding in findings:
        groups[fingerprint(finding)].append(finding)
        if finding.symbol:
            problems_by_symbol[(finding.path, finding.symbol)].add(problem_key(finding.rule))
    result = []
    for key, group in groups.items():
        first = group[0]
        others = problems_by_symbol.get((first.path, first.symbol or ""), set())
        also = sorted(others - {problem_key(first.rule)})
        result.append(
            score(key, group, weights, consensus_min=consensus_min_agents,
                  sweep_agents=sweep_agents, also=also)
        )  # fmt: skip
    result.sort(key=lambda c: (-c.priority, -c.confidence, c.path, c.line))
    return result


def score(
    key: str,
    group: list[Finding],
    weights: Mapping[tuple[str, str], Weight],
    *,
    consensus_min: int = 2,
    sweep_agents: Collection[str] = (),
    also: Sequence[str] = (),
) -> Converged:
    """One fingerprint's evidence scored: the task it projects to.

    The primary finding (rule, line, message of the task) is an agent's before a sweep's, then the
    worst and most confident. Agents are listed fixing agents first (a sweep never leads).
    """
    primary = max(
        group,
        key=lambda f: (f.agent not in sweep_agents, f.severity.rank, f.confidence, -f.line),
    )
    names = {f.agent for f in group}
    agents = sorted(names - set(sweep_agents)) + sorted(names & set(sweep_agents))
    detectors = sorted({f.detector for f in group})
    severity = max((f.severity for f in group), key=lambda s: s.rank)
    own = max(f.confidence for f in group)
    consensus = len(detectors) >= consensus_min
    if consensus:
        confidence = max(0.9, own)
        reason = f"consensus: {' + '.join(detectors)} agree"
    else:
        confidence = own
        reason = f"{primary.agent} confidence"
        if len(agents) > 1:
            reason += f" ({' + '.join(agents)} run one detector, {detectors[0]}: one vote)"
    confidence, learned, priority = _apply_learning(
        confidence, group, weights, severity, consensus, primary
    )
    if learned:
        reason = f"{reason}; {learned}"
    if also:
        reason = f"{reason}; also on this symbol: {', '.join(also)}"
    review_now = severity is Severity.CRITICAL
    if review_now:
        reason = f"critical: review now; {reason}"
    return Converged(
        fingerprint=key,
        findings=group,
        agents=agents,
        severity=severity,
        confidence=round(confidence, 3),
        confidence_reason=reason,
        consensus=consensus,
        review_now=review_now,
        priority=priority,
        primary=primary,
    )


def _apply_learning(
    confidence: float,
    group: list[Finding],
    weights: Mapping[tuple[str, str], Weight],
    severity: Severity,
    consensus: bool,
    primary: Finding,
) -> tuple[float, str, int]:
    """(confidence, explanation, priority) after learning: scoped and decayed weights
    (core/learning.py) or a plain (agent, rule) -> Weight mapping."""
    assess = getattr(weights, "assess", None)
    if assess is not None:
        from controlroom.core.learning import symbol_kind  # learning scores with this module

        found = assess(primary.rule, primary.path, severity, symbol_kind(primary.symbol))
        if found is None:
            return confidence, "", priority_of(severity, confidence, consensus)
        learning = cast("LearnedWeights", weights)  # has assess: the weights of core/learning.py
        confidence, priority, text = learning.apply(found, severity, confidence, consensus)
        return confidence, text, priority
    known = [weights[(f.agent, f.rule)] for f in group if (f.agent, f.rule) in weights]
    if not known:
        return confidence, "", priority_of(severity, confidence, consensus)
    approved = sum(w.approved for w in known)
    rejected = sum(w.rejected for w in known)
    rate = Weight(approved, rejected).value
    adjusted = min(1.0, max(0.0, confidence * (0.5 + rate)))
    learned = f"learned from {approved} approved / {rejected} rejected"
    return adjusted, learned, priority_of(severity, adjusted, consensus)
