"""Alerts to a Slack-compatible incoming webhook: JSON payload, retries, every delivery recorded."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

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


def _post(url: str, body: bytes, timeout: float) -> int:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read(65536)
        return response.status


async def deliver(
    url: str,
    body: dict[str, Any],
    *,
    retries: int = 3,
    timeout: float = 5.0,
    backoff: float = 1.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Delivery:
    """POST ``body``; on failure retry up to ``retries`` more times, waiting backoff*2^n."""
    data = json.dumps(body).encode()
    status: int | None = None
    error: str | None = None
    for attempt in range(1, retries + 2):
        try:
            status = await asyncio.to_thread(_post, url, data, timeout)
            return Delivery(True, attempt, status, None)
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            status, error = None, str(getattr(exc, "reason", exc))
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
            result.error,
        ),
    )
    return result
