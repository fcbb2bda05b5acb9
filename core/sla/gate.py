"""The pre-flight gate before analysis, and the SLA part of the run-once report."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from controlroom.core.errors import ConfigError
from controlroom.core.sla.compliance import Compliance, compliance_by_check
from controlroom.core.sla.monitor import SlaSettings
from controlroom.core.sla.results import latest
from controlroom.core.sla.scheduler import run_all_once


@dataclass
class GateResult:
    """``ok`` when no gating check is violated. ``warning`` is the line to record otherwise."""

    checked: list[str] = field(default_factory=list)
    violated: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violated

    @property
    def warning(self) -> str | None:
        if self.ok:
            return None
        names = ", ".join(v["name"] for v in self.violated)
        return f"analysis ran on stale data: SLA violated: {names}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "warning": self.warning}


async def gate(
    store: Any,
    config: Any,
    now: float | None = None,
    *,
    fresh: bool = True,
    base_dir: Path | None = None,
) -> GateResult:
    """Check the SLAs named in ``sla.gate``. ``fresh`` runs them now (run-once); otherwise the
    latest stored results are used (the TUI, where the service keeps them current). A gating
    check with no result counts as violated. A violation is also recorded as an ``sla.gate``
    event in the store."""
    settings = SlaSettings.from_config(config)
    unknown = [n for n in settings.gate if settings.check(n) is None]
    if unknown:
        raise ConfigError(f"sla.gate names unknown SLA checks: {', '.join(unknown)}")
    result = GateResult(checked=list(settings.gate))
    if not settings.gate:
        return result
    if fresh:
        clock = (lambda: now) if now is not None else time.time
        await run_all_once(store, config, names=settings.gate, base_dir=base_dir, clock=clock)
    states = await latest(store)
    for name in settings.gate:
        row = states.get(name)
        status = row["last_status"] if row is not None else None
        if status != "ok":
            result.violated.append(
                {
                    "name": name,
                    "status": status or "no data",
                    "message": (row["last_message"] if row is not None else "never checked") or "",
                    "at": row["last_at"] if row is not None else None,
                }
            )
    if result.violated:
        await store.record_event("sla.gate", result.as_dict())
    return result


async def sla_summary(store: Any, config: Any, now: float | None = None) -> dict[str, Any]:
    """JSON-ready SLA status for reports. ``critical_violations`` counts checks of severity
    critical whose latest result is not ok (what ``--fail-on`` counts)."""
    now = time.time() if now is None else now
    settings = SlaSettings.from_config(config)
    states = await latest(store)
    compliance = await compliance_by_check(store, now, [c.name for c in settings.checks])
    items = []
    counts = {"ok": 0, "violated": 0, "no_data": 0}
    critical = alerting = 0
    for check in settings.checks:
        row = states.get(check.name)
        status = row["last_status"] if row is not None and row["last_status"] else None
        key = "no_data" if status is None else ("ok" if status == "ok" else "violated")
        counts[key] += 1
        if key == "violated" and check.severity == "critical":
            critical += 1
        if row is not None and row["state"] == "violated":
            alerting += 1
        windows = compliance.get(check.name, {})
        items.append(
            {
                "name": check.name,
                "kind": check.kind,
                "group": check.group,
                "severity": check.severity,
                "status": status or "no data",
                "value": row["last_value"] if row is not None else None,
                "threshold": check.threshold,
                "message": (row["last_message"] if row is not None else "") or "",
                "at": row["last_at"] if row is not None else None,
                "alert": row["state"] if row is not None else "ok",
                "acknowledged": bool(row is not None and row["acked_at"] is not None),
                "target": check.target,
                "compliance": {w: windows.get(w, Compliance()).pct for w in ("24h", "7d", "30d")},
            }
        )
    return {
        "checks": len(settings.checks),
        **counts,
        "alerting": alerting,
        "critical_violations": critical,
        "items": items,
    }
