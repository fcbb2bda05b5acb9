"""``file_age`` (newest file matching a glob) and ``disk`` (usage of a path) checks."""

from __future__ import annotations

import asyncio
import glob
import os
import time

from controlroom.core.sla.checks.base import CheckContext, CheckFailed, Outcome
from controlroom.core.sla.definitions import CheckDef
from controlroom.core.sla.durations import format_duration


def _newest_mtime(pattern: str, deadline: float) -> tuple[str, float]:
    """The newest match; TimeoutError past the monotonic ``deadline`` (so the thread ends)."""
    newest: tuple[str, float] | None = None
    for name in glob.iglob(pattern, recursive=True):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still searching {pattern} at the timeout")
        try:
            mtime = os.stat(name).st_mtime
        except OSError:
            continue
        if newest is None or mtime > newest[1]:
            newest = (name, mtime)
    if newest is None:
        raise CheckFailed(f"no file matches {pattern}")
    return newest


async def file_age(check: CheckDef, ctx: CheckContext) -> Outcome:
    pattern = str(ctx.resolve(check.params["path"]))
    deadline = time.monotonic() + check.timeout
    name, mtime = await asyncio.to_thread(_newest_mtime, pattern, deadline)
    age = max(0.0, ctx.clock() - mtime)
    limit = check.params["max_age"]
    verdict = "within" if age <= limit else "older than"
    return Outcome(
        age <= limit,
        age,
        f"{os.path.basename(name)} is {format_duration(age)} old, {verdict} {format_duration(limit)}",
    )


async def disk(check: CheckDef, ctx: CheckContext) -> Outcome:
    import psutil  # imported when used: the CLI parser imports this package and must stay light

    path = ctx.resolve(check.params.get("path", "."))
    try:
        usage = await asyncio.to_thread(psutil.disk_usage, str(path))
    except OSError as exc:
        raise CheckFailed(f"cannot read disk usage of {path}: {exc.strerror or exc}") from exc
    limit = float(check.params["max_pct"])
    return Outcome(
        usage.percent <= limit,
        usage.percent,
        f"{path} is {usage.percent:.1f}% full (limit {limit:g}%)",
    )
