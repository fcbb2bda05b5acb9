"""Convergence: findings from every agent become deduplicated, scored candidates for the queue.

- The fingerprint is rule + path + enclosing symbol + the normalised text of the flagged line, so it
  survives line shifts and unrelated edits.
- Consensus: two or more agents on one fingerprint, or on one symbol, give high confidence; any
  critical finding means "review now"; otherwise the agents' own confidence counts.
- Learned weights (approvals and rejections per agent and rule) raise or lower confidence.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from controlroom.core.model import Finding, Severity

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


def fingerprint(finding: Finding) -> str:
    """A stable id for "this problem in this place", independent of the line number."""
    parts = (finding.rule, finding.path, finding.symbol or "", normalise_snippet(finding.snippet))
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


def priority_of(severity: Severity, confidence: float, consensus: bool) -> int:
    return min(100, _SEVERITY_BASE[severity] + round(confidence * 15) + (5 if consensus else 0))


def converge(
    findings: Iterable[Finding],
    weights: Mapping[tuple[str, str], Weight] | None = None,
    *,
    consensus_min_agents: int = 2,
) -> list[Converged]:
    """Group by fingerprint, score each group, and return them highest priority first."""
    weights = weights or {}
    groups: dict[str, list[Finding]] = defaultdict(list)
    agents_by_symbol: dict[tuple[str, str], set[str]] = defaultdict(set)
    for finding in findings:
        groups[fingerprint(finding)].append(finding)
        if finding.symbol:
            agents_by_symbol[(finding.path, finding.symbol)].add(finding.agent)

    result = []
    for key, group in groups.items():
        primary = max(group, key=lambda f: (f.severity.rank, f.confidence, -f.line))
        agents = sorted({f.agent for f in group})
        severity = primary.severity
        own = max(f.confidence for f in group)
        symbol_agents = agents_by_symbol.get((primary.path, primary.symbol or ""), set())
        if len(agents) >= consensus_min_agents:
            consensus = True
            confidence = max(0.9, own)
            reason = f"consensus: {' + '.join(agents)} agree"
        elif primary.symbol and len(symbol_agents) >= consensus_min_agents:
            consensus = True
            confidence = max(0.8, own)
            reason = f"consensus on {primary.symbol}: {' + '.join(sorted(symbol_agents))}"
        else:
            consensus = False
            confidence = own
            reason = f"{primary.agent} confidence"
        confidence, learned = _apply_learning(confidence, group, weights)
        if learned:
            reason = f"{reason}; {learned}"
        review_now = severity is Severity.CRITICAL
        if review_now:
            reason = f"critical: review now; {reason}"
        result.append(
            Converged(
                fingerprint=key,
                findings=group,
                agents=agents,
                severity=severity,
                confidence=round(confidence, 3),
                confidence_reason=reason,
                consensus=consensus,
                review_now=review_now,
                priority=priority_of(severity, confidence, consensus),
                primary=primary,
            )
        )
    result.sort(key=lambda c: (-c.priority, -c.confidence, c.path, c.line))
    return result


def _apply_learning(
    confidence: float, group: list[Finding], weights: Mapping[tuple[str, str], Weight]
) -> tuple[float, str]:
    known = [weights[(f.agent, f.rule)] for f in group if (f.agent, f.rule) in weights]
    if not known:
        return confidence, ""
    approved = sum(w.approved for w in known)
    rejected = sum(w.rejected for w in known)
    rate = Weight(approved, rejected).value
    adjusted = min(1.0, max(0.0, confidence * (0.5 + rate)))
    return adjusted, f"learned from {approved} approved / {rejected} rejected"
