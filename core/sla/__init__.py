"""Data-freshness SLA monitoring: checks, results and rollups, compliance, alerts, maintenance.

Entry points for the runtime, the CLI and the TUI::

    SlaService(store, config, base_dir=repo, bus=bus)    # runtime side service, name "sla"
    await run_all_once(store, config, base_dir=repo)     # -> list[CheckResult]
    await gate(store, config, now=None, fresh=True)      # -> GateResult
    await sla_summary(store, config)                     # -> dict for the run-once report
    await heatmap(store, config, mode="hourly", buckets=24)  # -> Heatmap (the SLA pane)
"""

from core.sla.alerts import Alert, acknowledge, list_alerts
from core.sla.checks import CheckResult
from core.sla.definitions import CheckDef, load_checks
from core.sla.gate import GateResult, gate, sla_summary
from core.sla.heartbeats import record_ping
from core.sla.heatmap import Heatmap, HeatRow, heatmap
from core.sla.monitor import SlaSettings
from core.sla.scheduler import SlaService, run_all_once

__all__ = [
    "Alert",
    "CheckDef",
    "CheckResult",
    "GateResult",
    "HeatRow",
    "Heatmap",
    "SlaService",
    "SlaSettings",
    "acknowledge",
    "gate",
    "heatmap",
    "list_alerts",
    "load_checks",
    "record_ping",
    "run_all_once",
    "sla_summary",
]
