"""Check kinds and :func:`execute`, which runs one check with its timeout and times it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from controlroom.core.secrets import redact
from controlroom.core.sla.checks.base import CheckContext, CheckFailed, CheckResult, Outcome
from controlroom.core.sla.checks.command import command
from controlroom.core.sla.checks.files import disk, file_age
from controlroom.core.sla.checks.heartbeat import heartbeat
from controlroom.core.sla.checks.http import http
from controlroom.core.sla.checks.process import process
from controlroom.core.sla.checks.sql import sql_age
from controlroom.core.sla.definitions import CheckDef

KindRunner = Callable[[CheckDef, CheckContext], Awaitable[Outcome]]
RUNNERS: dict[str, KindRunner] = {
    "file_age": file_age,
    "sql_age": sql_age,
    "http": http,
    "command": command,
    "process": process,
    "disk": disk,
    "heartbeat": heartbeat,
}

__all__ = ["RUNNERS", "CheckContext", "CheckFailed", "CheckResult", "Outcome", "execute"]


async def execute(check: CheckDef, ctx: CheckContext) -> CheckResult:
    """Run ``check`` once within its timeout. Never raises (except cancellation). The message
    has every secret of the environment redacted."""
    at = ctx.clock()
    started = time.perf_counter()
    try:
        outcome = await asyncio.wait_for(RUNNERS[check.kind](check, ctx), check.timeout)
        status, value, message = (
            ("ok" if outcome.ok else "violated"),
            outcome.value,
            outcome.message,
        )
    except TimeoutError:
        status, value, message = "timeout", None, f"no answer within {check.timeout:g}s"
    except CheckFailed as exc:
        status, value, message = "error", None, str(exc)
    except Exception as exc:  # a bug in one check must not stop the others
        status, value, message = "error", None, f"{type(exc).__name__}: {exc}"
    return CheckResult(
        check_name=check.name,
        at=at,
        status=status,
        value=value,
        threshold=check.threshold,
        duration_s=time.perf_counter() - started,
        message=redact(message) or "",
    )
