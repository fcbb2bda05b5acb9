"""``controlroom correlate`` end to end: the installed command on a real repository, measuring a
real HTTP endpoint on 127.0.0.1 that gets slower between the baseline and the delta."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CONTROLROOM = str(Path(sys.executable).with_name("controlroom"))


class _Slowable(http.server.BaseHTTPRequestHandler):
    delay = 0.0

    def do_GET(self) -> None:
        time.sleep(self.delay)  # the server's response time under test
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Slowable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/health"
    finally:
        _Slowable.delay = 0.0
        server.shutdown()
        server.server_close()


def correlate(repo, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CONTROLROOM, "correlate", *args, "--repo", str(repo.path), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_baseline_delta_alerts_predict(repo, endpoint: str, tmp_path: Path) -> None:
    sha = repo.commit({"agents/impact.py": "x = 1\n", "README.md": "hi\n"}, "feat: impact")
    config = tmp_path / "controlroom.toml"
    config.write_text(
        f"[correlator]\nsamples = 3\nsample_interval = 0.1\n"
        f"[correlator.endpoints]\napi = '{endpoint}'\n",
        encoding="utf-8",
    )
    baseline = correlate(repo, config, "baseline", "--json")
    assert baseline.returncode == 0, baseline.stderr
    data = json.loads(baseline.stdout)
    assert data["commit"] == sha and data["files"] == ["README.md", "agents/impact.py"]
    metrics = data["before"]["metrics"]
    assert metrics["http.api.up"]["mean"] == 1.0 and metrics["http.api.response_ms"]["count"] == 3
    assert {"cpu_percent", "memory_percent", "disk_percent", "load_1m"} <= set(metrics)

    _Slowable.delay = 0.15  # the "deploy" made the endpoint 150 ms slower
    delta = correlate(repo, config, "delta", sha[:10], "--wait", "0", "--json", "--fail-on", "high")
    assert delta.returncode == 1, delta.stderr  # critical >= high
    result = json.loads(delta.stdout)
    assert result["impact"] == "critical" and result["alert"] and result["learned"]
    response = next(d for d in result["deltas"] if d["name"] == "http.api.response_ms")
    assert response["delta"] >= 140.0 and response["level"] == "critical"
    assert any(r.startswith("http.api.response_ms +") for r in result["reasons"])

    alerts = json.loads(correlate(repo, config, "alerts", "--json").stdout)["alerts"]
    assert [(a["commit"], a["level"]) for a in alerts] == [(sha, "critical")]

    predicted = correlate(repo, config, "predict", "agents/other.py", "docs/x.md", "--json")
    assert predicted.returncode == 0, predicted.stderr
    prediction = json.loads(predicted.stdout)["prediction"]
    assert prediction["pattern"] == "agents/*.py" and prediction["samples"] == 1
    assert prediction["level"] == "critical"
    assert prediction["confidence"] == pytest.approx(1 / 6)
    assert prediction["response_delta_ms"] >= 140.0


def test_errors_and_the_hook_switch(repo, tmp_path: Path) -> None:
    repo.commit({"a.py": "1\n"}, "one")
    config = tmp_path / "controlroom.toml"
    config.write_text("[correlator]\nsamples = 1\nsample_interval = 0.05\n", encoding="utf-8")
    no_baseline = correlate(repo, config, "delta", "--wait", "0")
    assert no_baseline.returncode == 2
    assert "no baseline for" in no_baseline.stderr
    skipped = correlate(repo, config, "baseline", "--if-enabled", "--json")
    assert skipped.returncode == 0
    assert json.loads(skipped.stdout) == {"skipped": "correlator.baseline_on_commit is false"}
