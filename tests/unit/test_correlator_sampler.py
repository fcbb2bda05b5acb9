"""Real readings: psutil on this machine, a service found by name and by pidfile, an HTTP endpoint."""

from __future__ import annotations

import asyncio
import http.server
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlroom.core.correlator import SystemProbe, collect_samples, take_snapshot


async def test_a_real_short_snapshot_from_psutil() -> None:
    started = time.monotonic()
    snap = await take_snapshot(SystemProbe(), count=3, interval=0.2)
    elapsed = time.monotonic() - started
    assert 0.55 <= elapsed < 5.0
    assert snap.samples == 3 and 0.5 <= snap.duration_s < 5.0
    for name in ("cpu_percent", "memory_percent", "disk_percent", "load_1m"):
        assert snap.metrics[name].count == 3, name
    assert 0.0 <= snap.metrics["cpu_percent"].mean <= 100.0
    assert 0.0 < snap.metrics["memory_percent"].mean <= 100.0
    assert 0.0 < snap.metrics["disk_percent"].mean <= 100.0
    assert snap.metrics["load_1m"].mean >= 0.0


async def test_cpu_percent_sees_a_busy_core() -> None:
    """A busy child process for the window: system CPU rises above an idle floor."""
    probe = SystemProbe()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        samples = await collect_samples(probe, count=2, interval=0.3)
    finally:
        busy.kill()
        busy.wait()
    cores = os.cpu_count() or 1
    assert min(s["cpu_percent"] for s in samples) >= 80.0 / cores


async def test_sampling_does_not_block_the_event_loop() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    try:
        await collect_samples(SystemProbe(), count=3, interval=0.1)
    finally:
        task.cancel()
    assert ticks >= 15


@pytest.fixture
def named_process(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    name = f"crsvc{uuid.uuid4().hex[:8]}"
    link = tmp_path / name
    link.symlink_to("/bin/sleep")
    process = subprocess.Popen([str(link), "60"])
    try:
        yield name, process
    finally:
        process.kill()
        process.wait()


def test_a_service_by_name_and_by_pidfile(named_process, tmp_path: Path) -> None:
    name, process = named_process
    pidfile = tmp_path / "svc.pid"
    pidfile.write_text(f"{process.pid}\n", encoding="utf-8")
    probe = SystemProbe(
        {"byname": name, "bypid": f"pidfile:{pidfile}", "gone": "pidfile:/nonexistent.pid"}
    )
    probe.prime()
    sample = probe.read()
    for service in ("byname", "bypid"):
        assert sample[f"service.{service}.up"] == 1.0
        assert sample[f"service.{service}.rss_mb"] > 0.0
        assert sample[f"service.{service}.cpu_percent"] >= 0.0
    assert sample["service.gone.up"] == 0.0
    assert "service.gone.rss_mb" not in sample
    process.kill()
    process.wait()
    assert probe.read()["service.byname.up"] == 0.0


class _Handler(http.server.BaseHTTPRequestHandler):
    delay = 0.0

    def do_GET(self) -> None:
        time.sleep(self.delay)  # the server's own response time, not a wait in the test
        status = 200 if self.path == "/ok" else 500
        body = b"hello"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_endpoints_are_timed(http_server: str) -> None:
    _Handler.delay = 0.05
    try:
        probe = SystemProbe(
            {},
            {"ok": f"{http_server}/ok", "broken": f"{http_server}/fail", "bad": "ftp://x"},
            http_timeout=2.0,
        )
        probe.prime()
        sample = probe.read()
    finally:
        _Handler.delay = 0.0
    assert sample["http.ok.up"] == 1.0
    assert 50.0 <= sample["http.ok.response_ms"] < 2000.0
    assert sample["http.broken.up"] == 0.0 and "http.broken.response_ms" not in sample
    assert sample["http.bad.up"] == 0.0
