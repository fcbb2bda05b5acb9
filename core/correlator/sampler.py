"""Readings of the live system (psutil, HTTP) and the sampling window around them.

A probe's ``prime()`` and ``read()`` block (psutil walks /proc, HTTP waits on the network), so
:func:`collect_samples` runs them in a thread and sleeps between samples with an injectable
``sleep`` coroutine: the event loop never blocks and tests can feed their own sources.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Protocol

import psutil

from controlroom.core.correlator.snapshot import Sample, Snapshot, summarize

Sleeper = Callable[[float], Awaitable[None]]
PIDFILE_PREFIX = "pidfile:"
_MAX_BODY_BYTES = 1_000_000


class SampleSource(Protocol):
    """Anything that can take readings: the real :class:`SystemProbe` or a test's own source."""

    def prime(self) -> None: ...

    def read(self) -> dict[str, float]: ...


class SystemProbe:
    """System CPU, memory, disk and load; named services (by process name or ``pidfile:PATH``);
    HTTP endpoints (response time). CPU % is measured between two calls, so call :meth:`prime`
    once before the first :meth:`read` of a window."""

    def __init__(
        self,
        services: Mapping[str, str] | None = None,
        endpoints: Mapping[str, str] | None = None,
        *,
        http_timeout: float = 5.0,
        disk_path: str = "/",
    ) -> None:
        self.services = dict(services or {})
        self.endpoints = dict(endpoints or {})
        self.http_timeout = http_timeout
        self.disk_path = disk_path
        self._last_cpu: tuple[float, float] | None = None
        self._processes: dict[int, psutil.Process] = {}
        self._found: dict[str, list[psutil.Process]] = {}  # spec -> processes, until one exits

    def prime(self) -> None:
        self._last_cpu = _busy_and_total()
        self._found.clear()
        for spec in self.services.values():
            for process in self._processes_of(spec):
                _cpu_percent(process)

    def read(self) -> dict[str, float]:
        sample: dict[str, float] = {}
        cpu = self._system_cpu()
        if cpu is not None:
            sample["cpu_percent"] = cpu
        sample["memory_percent"] = float(psutil.virtual_memory().percent)
        with contextlib.suppress(OSError):
            sample["disk_percent"] = float(psutil.disk_usage(self.disk_path).percent)
        sample["load_1m"] = float(psutil.getloadavg()[0])
        for name, spec in self.services.items():
            sample.update(self._service(name, spec))
        for name, url in self.endpoints.items():
            sample.update(self._endpoint(name, url))
        return sample

    # -- system ------------------------------------------------------------------------------------
    def _system_cpu(self) -> float | None:
        """Busy share of all CPUs since the last call, from our own cpu_times pair, so another
        user of ``psutil.cpu_percent()`` in this process never resets our reference."""
        now = _busy_and_total()
        last, self._last_cpu = self._last_cpu, now
        if last is None or now[1] <= last[1]:
            return None
        busy = max(0.0, now[0] - last[0])
        return min(100.0, 100.0 * busy / (now[1] - last[1]))

    # -- services ----------------------------------------------------------------------------------
    def _processes_of(self, spec: str) -> list[psutil.Process]:
        """The service's processes: a process-table scan (about 10 ms for 100 processes) only at
        :meth:`prime`, when one of them exited, or while none is found."""
        found = self._found.get(spec)
        if not found or not all(p.is_running() for p in found):
            found = self._found[spec] = self._find(spec)
        return found

    def _find(self, spec: str) -> list[psutil.Process]:
        if spec.startswith(PIDFILE_PREFIX):
            pid = _read_pid(Path(spec[len(PIDFILE_PREFIX) :]))
            pids = [pid] if pid is not None and psutil.pid_exists(pid) else []
        else:
            pids = [
                p.pid
                for p in psutil.process_iter(["name", "cmdline"])
                if _name_matches(p, spec) and p.pid != os.getpid()
            ]
        found = []
        for pid in pids:
            process = self._processes.get(pid)
            if process is None or not process.is_running():
                try:
                    process = psutil.Process(pid)
                except psutil.Error:
                    continue
                self._processes[pid] = process
            found.append(process)
        return found

    def _service(self, name: str, spec: str) -> dict[str, float]:
        cpu = memory = rss = 0.0
        alive = 0
        for process in self._processes_of(spec):
            try:
                with process.oneshot():
                    cpu += _cpu_percent(process)
                    memory += process.memory_percent()
                    rss += process.memory_info().rss
                alive += 1
            except psutil.Error:
                continue
        prefix = f"service.{name}."
        if not alive:
            return {prefix + "up": 0.0}
        return {
            prefix + "up": 1.0,
            prefix + "cpu_percent": cpu,
            prefix + "memory_percent": memory,
            prefix + "rss_mb": rss / 1_048_576,
        }

    # -- HTTP --------------------------------------------------------------------------------------
    def _endpoint(self, name: str, url: str) -> dict[str, float]:
        prefix = f"http.{name}."
        if not url.startswith(("http://", "https://")):
            return {prefix + "up": 0.0}
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=self.http_timeout) as response:
                response.read(_MAX_BODY_BYTES)
        except (urllib.error.URLError, OSError, ValueError):
            return {prefix + "up": 0.0}
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        return {prefix + "up": 1.0, prefix + "response_ms": elapsed_ms}


def _busy_and_total() -> tuple[float, float]:
    """(busy, total) CPU seconds over all CPUs, counted as psutil does (iowait is idle time)."""
    times = psutil.cpu_times()
    total = sum(times)
    # On Linux guest time is already inside user/nice.
    total -= getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


def _cpu_percent(process: psutil.Process) -> float:
    try:
        return float(process.cpu_percent(interval=None))
    except psutil.Error:
        return 0.0


def _name_matches(process: psutil.Process, name: str) -> bool:
    info = process.info
    if info.get("name") == name:
        return True
    cmdline = info.get("cmdline") or []
    return bool(cmdline) and os.path.basename(cmdline[0]) == name


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return None


async def collect_samples(
    source: SampleSource, *, count: int, interval: float, sleep: Sleeper = asyncio.sleep
) -> list[dict[str, float]]:
    """``count`` readings, ``interval`` seconds apart (the first one ``interval`` after priming)."""
    await asyncio.to_thread(source.prime)
    samples: list[dict[str, float]] = []
    for _ in range(max(1, count)):
        await sleep(interval)
        samples.append(await asyncio.to_thread(source.read))
    return samples


async def take_snapshot(
    source: SampleSource,
    *,
    count: int,
    interval: float,
    sleep: Sleeper = asyncio.sleep,
    clock: Callable[[], float] = time.time,
) -> Snapshot:
    """A window of samples reduced to mean and spread per metric."""
    started = clock()
    samples: list[Sample] = list(
        await collect_samples(source, count=count, interval=interval, sleep=sleep)
    )
    ended = clock()
    return summarize(samples, taken_at=ended, duration_s=max(0.0, ended - started))
