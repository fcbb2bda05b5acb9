"""``process``: a process (by name or pidfile) is running; optional maximum RSS and CPU (psutil)."""

from __future__ import annotations

import asyncio
from typing import Any

from controlroom.core.sla.checks.base import CheckContext, CheckFailed, Outcome
from controlroom.core.sla.definitions import CheckDef

CPU_SAMPLE_S = 0.2


def _find(check: CheckDef, ctx: CheckContext) -> list[Any]:
    import psutil  # imported when used: building the CLI parser must stay light

    params = check.params
    if "pidfile" in params:
        path = ctx.resolve(params["pidfile"])
        try:
            pid = int(path.read_text(encoding="utf-8").split()[0])
        except (OSError, ValueError, IndexError) as exc:
            raise CheckFailed(f"cannot read a pid from {path}") from exc
        try:
            process = psutil.Process(pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return []
            return [process]
        except psutil.NoSuchProcess:
            return []
    wanted = params["process_name"]
    found = []
    for process in psutil.process_iter(["name", "cmdline", "status"]):
        info = process.info
        if info.get("status") == psutil.STATUS_ZOMBIE:
            continue
        argv0 = (info.get("cmdline") or [""])[0].rsplit("/", 1)[-1]
        if info.get("name") == wanted or argv0 == wanted:
            found.append(process)
    return found


def _measure(check: CheckDef, ctx: CheckContext) -> Outcome:
    import psutil

    processes = _find(check, ctx)
    if not processes:
        what = check.params.get("process_name") or check.params.get("pidfile")
        return Outcome(False, None, f"no running process {what}")
    rss_mb, cpu = 0.0, 0.0
    for process in processes:
        try:
            rss_mb += process.memory_info().rss / 1_048_576
            if "max_cpu_pct" in check.params:
                cpu += process.cpu_percent(interval=CPU_SAMPLE_S)
        except psutil.Error:
            continue
    count = f"{len(processes)} process{'es' if len(processes) > 1 else ''}"
    max_rss = check.params.get("max_rss_mb")
    if max_rss is not None and rss_mb > max_rss:
        return Outcome(False, rss_mb, f"{count} using {rss_mb:.0f} MB, over {max_rss:g} MB")
    max_cpu = check.params.get("max_cpu_pct")
    value = rss_mb if max_rss is not None or max_cpu is None else cpu
    if max_cpu is not None and cpu > max_cpu:
        return Outcome(False, value, f"{count} using {cpu:.0f}% CPU, over {max_cpu:g}%")
    return Outcome(True, value, f"{count} running, {rss_mb:.0f} MB")


async def process(check: CheckDef, ctx: CheckContext) -> Outcome:
    return await asyncio.to_thread(_measure, check, ctx)
