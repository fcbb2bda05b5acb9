"""Data-freshness SLA monitoring: checks, results and rollups, compliance, alerts, maintenance.

Entry points for the runtime, the CLI and the TUI::

    SlaService(store, config, base_dir=repo, bus=bus)    # runtime side service, name "sla"
    await run_all_once(store, config, base_dir=repo)     # -> list[CheckResult]
    await gate(store, config, now=None, fresh=True)      # -> GateResult
    await sla_summary(store, config)                     # -> dict for the run-once report
    await heatmap(store, config, mode="hourly", buckets=24)  # -> Heatmap (the SLA pane)
"""

from controlroom.core.sla.alerts import Alert, acknowledge, list_alerts
from controlroom.core.sla.checks import CheckResult
from controlroom.core.sla.definitions import CheckDef, load_checks
from controlroom.core.sla.gate import GateResult, gate, sla_summary
from controlroom.core.sla.heartbeats import record_ping
from controlroom.core.sla.heatmap import Heatmap, HeatRow, heatmap
from controlroom.core.sla.monitor import SlaSettings
from controlroom.core.sla.scheduler import SlaService, run_all_once

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
