"""``heartbeat``: an outside job runs ``controlroom sla ping NAME``; violated without a recent ping."""

from __future__ import annotations

from controlroom.core.sla.checks.base import CheckContext, CheckFailed, Outcome
from controlroom.core.sla.definitions import CheckDef
from controlroom.core.sla.durations import format_duration


async def heartbeat(check: CheckDef, ctx: CheckContext) -> Outcome:
    if ctx.store is None:
        raise CheckFailed("heartbeat checks need the store")
    last = await ctx.store.fetchval(
        "SELECT last_ping FROM sla_heartbeats WHERE check_name = ?", (check.name,)
    )
    limit = check.threshold or check.interval
    if last is None:
        return Outcome(False, None, f"no ping yet (controlroom sla ping {check.name})")
    age = max(0.0, ctx.clock() - float(last))
    verdict = "within" if age <= limit else "over"
    return Outcome(
        age <= limit,
        age,
        f"last ping {format_duration(age)} ago, {verdict} {format_duration(limit)}",
    )
