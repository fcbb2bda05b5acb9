"""The impact agent's findings: their common form, an API break as a finding, and a finding's
blast radius (importers and call sites of its symbol)."""

from __future__ import annotations

from typing import Any

from controlroom.agents import impact_api
from controlroom.agents.impact_blast import ImportGraph
from controlroom.core.model import FileChange, Finding, Severity


def impact_finding(
    rule: str,
    severity: Severity,
    path: str,
    line: int,
    message: str,
    symbol: str | None,
    snippet: str,
    confidence: float,
    **extra: Any,
) -> Finding:
    return Finding(
        agent="impact",
        rule=rule,
        severity=severity,
        path=path,
        line=line,
        message=message,
        symbol=symbol,
        snippet=snippet.strip(),
        confidence=confidence,
        extra=dict(extra),
    )


def api_finding(f: FileChange, b: impact_api.ApiBreak, new_text: str | None) -> Finding:
    removed = b.kind == "OBJECT_REMOVED"
    source = (f.old_text if removed or new_text is None else new_text) or ""
    lines = source.splitlines()
    at = (b.old_line if removed else b.line) or 1
    snippet = lines[at - 1] if 0 < at <= len(lines) else ""
    return impact_finding(
        b.rule, b.severity, f.path, b.line, b.message,
        None if b.symbol == "<module>" else b.symbol, snippet, 0.9,
        api=b.details, object_path=b.object_path, old_line=b.old_line,
    )  # fmt: skip


def finding_blast(
    finding: Finding, blast: dict[str, dict[str, Any]], graph: ImportGraph
) -> dict[str, Any] | None:
    radius = blast.get(finding.path)
    if radius is None:
        return None
    out = {k: v for k, v in radius.items() if k != "symbols"}
    if finding.symbol:
        sites = graph.call_sites(radius["module"], finding.symbol)
        out["symbol_call_sites"] = len(sites)
        out["callers"] = [f"{p}:{n}" for p, n in sites[:5]]
    return out
