"""The alert pipeline on a real store: thresholds, reminders, acks, cooldown, maintenance,
resolved notices, the event stream and the webhook received by a local HTTP server."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from controlroom.core.errors import UsageError
from controlroom.core.events import EventBus
from controlroom.core.sla import acknowledge, list_alerts
from controlroom.core.sla.checks import CheckResult
from controlroom.core.sla.monitor import SlaMonitor, SlaSettings
from tests.unit.sla_support import Clock, http_server, sla_config

BASE = """
[sla]
reminder_interval = 600
cooldown = 300
{extra}

[[sla.checks]]
name = "feed"
kind = "disk"
max_pct = 90
severity = "critical"
failure_threshold = {failures}
success_threshold = {successes}
"""


def make_monitor(
    tmp_path: Path, store, clock: Clock, extra: str = "", bus=None, failures=3, successes=2
) -> SlaMonitor:
    text = BASE.format(extra=extra, failures=failures, successes=successes)
    settings = SlaSettings.from_config(sla_config(tmp_path, text))
    return SlaMonitor(
        store, settings, base_dir=tmp_path, clock=clock, bus=bus, webhook_sleep=clock.sleep
    )


async def feed(monitor: SlaMonitor, clock: Clock, *oks: bool, every: float = 60) -> list[str]:
    """Record one result per flag, ``every`` seconds apart; the notice kinds sent."""
    check = monitor.settings.checks[0]
    kinds: list[str] = []
    for ok in oks:
        clock.advance(every)
        result = CheckResult(
            check.name,
            clock.now,
            "ok" if ok else "violated",
            95.0 if not ok else 50.0,
            90.0,
            0.01,
            "disk is 95% full" if not ok else "fine",
        )
        kinds += [a.kind for a in await monitor.record(check, result)]
    return kinds


async def state(store) -> str:
    return await store.fetchval("SELECT state FROM sla_check_state WHERE check_name = 'feed'")


async def test_failure_threshold_then_success_threshold_and_resolved(tmp_path, store) -> None:
    clock = Clock()
    monitor = make_monitor(tmp_path, store, clock)
    assert await feed(monitor, clock, False, False) == []
    assert await state(store) == "ok"
    assert await feed(monitor, clock, False) == ["violated"]
    assert await state(store) == "violated"
    assert await feed(monitor, clock, True) == []  # one success is not recovery
    assert await state(store) == "violated"
    assert await feed(monitor, clock, False, True, True) == ["resolved"]
    assert await state(store) == "ok"
    alerts = await list_alerts(store)
    assert [a.kind for a in alerts] == ["resolved", "violated"]
    assert (
        alerts[1].severity == "critical" and "feed violated: disk is 95% full" in alerts[1].message
    )


async def test_reminders_while_violated_and_ack_stops_them(tmp_path, store) -> None:
    clock = Clock()
    monitor = make_monitor(tmp_path, store, clock)
    assert await feed(monitor, clock, False, False, False) == ["violated"]
    # reminder_interval 600 s: ten more failures one minute apart give exactly one reminder
    assert await feed(monitor, clock, *[False] * 10) == ["reminder"]
    ack = await acknowledge(store, "feed", now=clock.now, by="ops")
    assert ack.kind == "acknowledged"
    with pytest.raises(UsageError, match="already acknowledged"):
        await acknowledge(store, "feed", now=clock.now)
    assert await feed(monitor, clock, *[False] * 30) == []  # no reminders after the ack
    assert await feed(monitor, clock, True, True) == ["resolved"]
    assert await store.fetchval("SELECT acked_at FROM sla_check_state") is None  # ack ended
    with pytest.raises(UsageError, match="not violated"):
        await acknowledge(store, "feed", now=clock.now)
    # A new episode after the cooldown alerts and reminds again.
    assert await feed(monitor, clock, *[False] * 3, every=200) == ["violated"]
    assert await feed(monitor, clock, *[False] * 4, every=200) == ["reminder"]


async def test_cooldown_holds_back_a_flapping_check(tmp_path, store) -> None:
    clock = Clock()
    monitor = make_monitor(tmp_path, store, clock, failures=1, successes=1)
    assert await feed(monitor, clock, False, True) == ["violated", "resolved"]
    # Violated again 60 s after the resolved notice: within the 300 s cooldown, held back...
    assert await feed(monitor, clock, False, False, False) == []
    assert await state(store) == "violated"
    # ...and sent once the cooldown has passed while it is still violated.
    assert await feed(monitor, clock, False, False) == ["violated"]


async def test_maintenance_mutes_alerts_but_keeps_results(tmp_path, store) -> None:
    clock = Clock(1_800_000_000.0)  # 2027-01-15T08:00:00Z
    window = (
        "\n[[sla.maintenance]]\nstart = 2027-01-15T08:00:00Z\nend = 2027-01-15T09:00:00Z\n"
        'checks = ["feed"]\n'
    )
    settings_text = BASE.format(extra="", failures=3, successes=2) + window
    settings = SlaSettings.from_config(sla_config(tmp_path, settings_text))
    monitor = SlaMonitor(store, settings, base_dir=tmp_path, clock=clock)
    assert await feed(monitor, clock, *[False] * 5) == []  # violated inside the window: muted
    assert await state(store) == "violated"
    assert await store.fetchval("SELECT count(*) FROM sla_results WHERE in_maintenance = 1") == 5
    hourly = await store.fetchone("SELECT count, violations, maint_count FROM sla_rollups_hourly")
    assert tuple(hourly) == (0, 0, 5)  # maintenance runs stay out of compliance
    clock.now = 1_800_003_600.0 - 60  # the window ends at 09:00
    assert await feed(monitor, clock, False) == ["violated"]  # first run after it: the alert


async def test_events_and_webhook_payload_reach_a_receiver(tmp_path, store) -> None:
    clock = Clock()
    bus = EventBus()
    with http_server() as receiver:
        monitor = make_monitor(
            tmp_path, store, clock, extra=f'webhook_url = "{receiver.url}/hook"', bus=bus
        )
        alerts_seen = []

        async def listen() -> None:
            async for event in bus.subscribe():
                if event.kind == "sla.alert":
                    alerts_seen.append(event.payload["alert"])
                    return

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0)
        await feed(monitor, clock, False, False, False)
        await asyncio.wait_for(listener, 5)
        await monitor.drain(timeout=10)
        assert alerts_seen[0]["kind"] == "violated" and alerts_seen[0]["check_name"] == "feed"
        (body,) = receiver.received
        assert body["text"].startswith("[critical] SLA violated: feed")
        attachment = body["attachments"][0]
        assert attachment["color"] == "#d00000"
        fields = {f["title"]: f["value"] for f in attachment["fields"]}
        assert fields == {
            "Check": "feed",
            "Severity": "critical",
            "Value": "95.0%",
            "Threshold": "90.0%",
        }
        delivery = await store.fetchone(
            "SELECT status, attempts, http_status FROM sla_webhook_deliveries"
        )
        assert tuple(delivery) == ("sent", 1, 200)


async def test_failing_webhook_is_retried_recorded_and_never_blocks(tmp_path, store) -> None:
    clock = Clock()
    with http_server() as receiver:
        receiver.post_statuses[:] = [500, 503]  # two failures, then 200
        monitor = make_monitor(tmp_path, store, clock, extra=f'webhook_url = "{receiver.url}"')
        await feed(monitor, clock, False, False, False)
        await monitor.drain(timeout=10)
        row = await store.fetchone(
            "SELECT status, attempts, http_status FROM sla_webhook_deliveries"
        )
        assert tuple(row) == ("sent", 3, 200)
        assert len(receiver.received) == 3
        assert clock.slept[-2:] == [1.0, 2.0]  # backoff waited on the injected clock

    # A receiver that is gone: every attempt fails, the failure is recorded.
    with http_server() as gone:
        url = gone.url
    monitor = make_monitor(tmp_path, store, clock, extra=f'webhook_url = "{url}"')
    await feed(monitor, clock, True, True, False, False, False, False)
    await monitor.drain(timeout=10)
    row = await store.fetchone(
        "SELECT status, attempts, error FROM sla_webhook_deliveries ORDER BY id DESC LIMIT 1"
    )
    assert (row["status"], row["attempts"]) == ("failed", 4)
    assert row["error"]


async def test_a_slow_webhook_does_not_hold_up_recording(tmp_path, store) -> None:
    clock = Clock()
    with http_server() as receiver:
        hold = threading.Event()
        original = receiver.RequestHandlerClass.do_POST

        def slow_post(handler) -> None:
            hold.wait(10)
            original(handler)

        receiver.RequestHandlerClass.do_POST = slow_post
        try:
            monitor = make_monitor(tmp_path, store, clock, extra=f'webhook_url = "{receiver.url}"')
            await asyncio.wait_for(feed(monitor, clock, False, False, False, False), 2)
            assert await store.fetchval("SELECT count(*) FROM sla_results") == 4
            assert not receiver.got_post.is_set()
        finally:
            hold.set()
            receiver.RequestHandlerClass.do_POST = original
        await monitor.drain(timeout=10)
        assert receiver.got_post.is_set()
