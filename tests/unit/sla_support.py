"""Helpers for the SLA tests: configs from TOML text, a settable clock, local HTTP servers."""

from __future__ import annotations

import json
import re
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from controlroom.core.config import Config, load_config


def sla_config(tmp_path: Path, toml: str, name: str = "controlroom.toml") -> Config:
    """Write ``toml`` to a file and load it the way the CLI does (validation included)."""
    path = tmp_path / name
    path.write_text(toml, encoding="utf-8")
    return load_config(None, path)


class Clock:
    """A clock tests move by hand; ``sleep`` advances it instead of waiting."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        import asyncio

        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, body: bool) -> None:
        spec = self.server.behaviour
        if spec.get("delay"):
            self.server.release.wait(spec["delay"])
        payload = json.dumps(spec.get("json", {"status": "ok"})).encode()
        self.send_response(spec.get("status", 200))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body:
            self.wfile.write(payload)

    def do_GET(self) -> None:
        self._answer(True)

    def do_HEAD(self) -> None:
        self._answer(False)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.server.received.append(json.loads(body))
        status = self.server.post_statuses.pop(0) if self.server.post_statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        self.server.got_post.set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    behaviour: dict[str, Any]
    received: list[Any]
    post_statuses: list[int]
    release: threading.Event
    got_post: threading.Event

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def http_server(**behaviour: Any) -> Iterator[_Server]:
    """A real HTTP server on 127.0.0.1 (random port). ``behaviour``: status, json, delay;
    POSTs are recorded in ``received`` and answered with ``post_statuses`` in turn (then 200)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.behaviour = behaviour
    server.received = []
    server.post_statuses = []
    server.release = threading.Event()
    server.got_post = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def wall_clock() -> float:
    return time.time()


class _DripHandler(socketserver.BaseRequestHandler):
    server: _DripServer

    def handle(self) -> None:
        sock = self.request
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        match = re.search(rb"content-length:\s*(\d+)", head, re.IGNORECASE)
        length = int(match.group(1)) if match else 0
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        self.server.received.append(body)
        size = self.server.size
        try:
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {size}\r\n\r\n".encode()
            )
            for _ in range(size):
                if self.server.stop.wait(self.server.interval):
                    return
                sock.sendall(b" ")
        except OSError:  # the client hung up: what a deadline should do
            self.server.gone.set()


class _DripServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    interval: float
    size: int
    received: list[bytes]
    stop: threading.Event
    gone: threading.Event

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def drip_server(interval: float = 0.2, size: int = 300) -> Iterator[_DripServer]:
    """A server on 127.0.0.1 that answers 200 with a body of ``size`` bytes sent one byte every
    ``interval`` seconds (a per-read socket timeout never fires). ``gone`` is set when the client
    hangs up mid-body; ``received`` holds request bodies."""
    server = _DripServer(("127.0.0.1", 0), _DripHandler)
    server.interval, server.size = interval, size
    server.received, server.stop, server.gone = [], threading.Event(), threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
