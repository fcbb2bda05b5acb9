"""What a metrics snapshot costs: one reading, a window's CPU time, and the event loop's lag.

python benchmarks/bench_correlator.py [--samples N] [--interval S]
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil

from controlroom.core.correlator import SystemProbe, take_snapshot


class _Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def read_cost_ms(probe: SystemProbe, repeat: int = 30) -> float:
    probe.prime()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        probe.read()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def cpu_of_window(probe: SystemProbe, samples: int, interval: float) -> tuple[float, float]:
    """(wall s, process CPU s) of one snapshot, nothing else running."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await take_snapshot(probe, count=samples, interval=interval)
    return time.perf_counter() - wall0, time.process_time() - cpu0


async def lag_during_window(probe: SystemProbe, samples: int, interval: float) -> float:
    """The worst lateness (ms) of a 5 ms timer while a snapshot runs."""
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append((time.perf_counter() - started - 0.005) * 1000)

    task = asyncio.create_task(ticker())
    await take_snapshot(probe, count=samples, interval=interval)
    stop.set()
    await task
    return max(lags)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    processes = len(psutil.pids())
    system = SystemProbe()
    folder = Path(tempfile.mkdtemp())
    (folder / "crbenchsvc").symlink_to("/bin/sleep")
    service = subprocess.Popen([str(folder / "crbenchsvc"), "600"])
    with_service = SystemProbe({"svc": "crbenchsvc"})
    with_pidfile = SystemProbe(
        {"me": "pidfile:/proc/self/stat"}
    )  # the first field is the pid of its reader: this process
    with_http = SystemProbe({}, {"local": url})
    print(f"one reading after priming, median of 30 ({processes} processes running):")
    print(f"  system only (cpu, memory, disk, load):  {read_cost_ms(system):7.3f} ms")
    print(f"  + a service by name:                    {read_cost_ms(with_service):7.3f} ms")
    print(f"  + a service by pidfile:                 {read_cost_ms(with_pidfile):7.3f} ms")
    print(f"  + an HTTP endpoint on 127.0.0.1:        {read_cost_ms(with_http):7.3f} ms")
    probe = SystemProbe({"svc": "crbenchsvc"}, {"local": url})
    wall, cpu = asyncio.run(cpu_of_window(probe, args.samples, args.interval))
    lag = asyncio.run(lag_during_window(probe, args.samples, args.interval))
    print(
        f"snapshot of {args.samples} readings x {args.interval:g} s (system + 1 service + 1 "
        f"endpoint): wall {wall:.2f} s, CPU {cpu * 1000:.1f} ms "
        f"({100 * cpu / wall:.2f}% of one core); worst event-loop lag {lag:.1f} ms"
    )
    server.shutdown()
    service.kill()
    service.wait()
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
