"""Alerts to a Slack-compatible incoming webhook: JSON payload, retries, every delivery recorded.

Every attempt has a total deadline (``sla.webhook_timeout``), and the body is redacted
(:func:`controlroom.core.secrets.redact`) before it leaves."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from controlroom.core.secrets import redact, redact_data
from controlroom.core.sla import fetch
from controlroom.core.sla.alerts import Alert
from controlroom.core.sla.durations import format_duration

COLORS = {
    "violated": "#d00000",
    "reminder": "#e07000",
    "resolved": "#2eb886",
    "acknowledged": "#888888",
}
TITLES = {
    "violated": "SLA violated",
    "reminder": "SLA still violated",
    "resolved": "SLA resolved",
    "acknowledged": "SLA acknowledged",
}
MAX_ANSWER = 65536  # bytes of the receiver's answer read (and ignored)


def payload(alert: Alert, *, unit: str = "s") -> dict[str, Any]:
    """A Slack incoming-webhook message (``text`` plus one attachment with fields)."""

    def shown(value: float | None) -> str:
        if value is None:
            return "-"
        return format_duration(value) if unit == "s" else f"{value:.1f}{unit}"

    title = f"{TITLES[alert.kind]}: {alert.check_name}"
    return {
        "text": f"[{alert.severity}] {title} - {alert.message}",
        "attachments": [
            {
                "color": COLORS[alert.kind],
                "title": title,
                "text": alert.message,
                "fields": [
                    {"title": "Check", "value": alert.check_name, "short": True},
                    {"title": "Severity", "value": alert.severity, "short": True},
                    {"title": "Value", "value": shown(alert.value), "short": True},
                    {"title": "Threshold", "value": shown(alert.threshold), "short": True},
                ],
                "footer": "controlroom sla",
                "ts": int(alert.at),
            }
        ],
    }


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    http_status: int | None
    error: str | None


async def deliver(
    url: str,
    body: dict[str, Any],
    *,
    retries: int = 3,
    timeout: float = 5.0,
    backoff: float = 1.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Delivery:
    """POST ``body`` (secrets redacted); on failure retry up to ``retries`` more times, waiting
    backoff*2^n. Each attempt ends at ``timeout`` seconds whatever the receiver does."""
    data = json.dumps(redact_data(body)).encode()
    status: int | None = None
    error: str | None = None
    for attempt in range(1, retries + 2):
        try:
            answer = await fetch.request(
                "POST",
                url,
                content=data,
                headers={"Content-Type": "application/json"},
                deadline=timeout,
                max_body=MAX_ANSWER,
            )
            status = answer.status
            if 200 <= status < 300:
                return Delivery(True, attempt, status, None)
            error = f"HTTP {status}"
        except TimeoutError:
            status, error = None, f"no answer within {timeout:g}s"
        except fetch.FetchFailed as exc:
            status, error = None, str(exc)
        if attempt <= retries:
            await sleep(backoff * 2 ** (attempt - 1))
    return Delivery(False, retries + 1, status, error)


async def send_and_record(
    store: Any,
    url: str,
    alert: Alert,
    *,
    unit: str = "s",
    clock: Callable[[], float] = time.time,
    **options: Any,
) -> Delivery:
    """Deliver one alert and record the outcome in ``sla_webhook_deliveries``."""
    result = await deliver(url, payload(alert, unit=unit), **options)
    await store.execute(
        "INSERT INTO sla_webhook_deliveries (alert_id, at, attempts, status, http_status, error)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            alert.id,
            clock(),
            result.attempts,
            "sent" if result.ok else "failed",
            result.http_status,
            redact(result.error),
        ),
    )
    return result
