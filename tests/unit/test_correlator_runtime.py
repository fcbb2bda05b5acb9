"""The runtime service (recent samples for the sparkline), the header strip, and config checks."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from controlroom.core.config import Config, load_config
from controlroom.core.correlator import (
    CorrelatorService,
    CorrelatorSettings,
    header_strip,
    recent_samples,
)
from controlroom.core.errors import ConfigError
from controlroom.core.events import EventBus
from controlroom.core.settings import load_defaults


class Readings:
    """Hands out readings with a rising CPU; the first read can fail once."""

    def __init__(self, fail_first: bool = False) -> None:
        self.count = 0
        self.fail_first = fail_first

    def prime(self) -> None:
        pass

    def read(self) -> dict[str, float]:
        self.count += 1
        if self.fail_first and self.count == 1:
            raise OSError("probe failed once")
        return {"cpu_percent": 10.0 * self.count, "memory_percent": 50.0, "load_1m": 0.5}


def config(**correlator: object) -> Config:
    data = load_defaults()
    data["correlator"].update(correlator)
    return Config(data)


async def test_service_keeps_recent_samples_and_survives_a_bad_cycle(store) -> None:
    third_sleep = asyncio.Event()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 4:
            third_sleep.set()
            await asyncio.Event().wait()  # park until cancelled

    bus = EventBus()
    clock = iter(range(100, 200)).__next__
    service = CorrelatorService(
        store,
        config(runtime_interval=7.0, runtime_keep=2),
        bus=bus,
        source=Readings(fail_first=True),
        sleep=sleep,
        clock=lambda: float(clock()),
    )
    assert service.name == "correlator"
    events = bus.subscribe()
    first_event = asyncio.ensure_future(events.__anext__())
    task = asyncio.create_task(service.run())
    await asyncio.wait_for(third_sleep.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sleeps == [7.0] * 4
    stored = await recent_samples(store)
    assert [s["cpu_percent"] for s in stored] == [20.0, 30.0]  # read 1 failed; keep = 2
    assert stored[0]["at"] < stored[1]["at"]
    assert [s["cpu_percent"] for s in service.recent] == [20.0, 30.0]
    event = await asyncio.wait_for(first_event, 1)
    assert event.kind == "correlator.sample" and event.payload["cpu_percent"] == 20.0


async def test_service_returns_when_disabled(store) -> None:
    service = CorrelatorService(store, config(enabled=False), source=Readings())
    await asyncio.wait_for(service.run(), 1)
    assert await recent_samples(store) == []


async def test_header_strip(store, repo) -> None:
    now = time.time()
    repo.commit({"a.py": "1"}, "feat: one", date=f"{int(now) - 3600} +0000")
    repo.commit({"a.py": "2"}, "two", date=f"{int(now) - 7200} +0000")
    service = CorrelatorService(store, config(), source=Readings())
    for _ in range(3):
        await service.sample_once()
    strip = await header_strip(store, repo.path, config(git_window_days=7))
    assert strip["window_days"] == 7
    assert strip["velocity"]["commits"] == 2
    assert strip["velocity"]["per_day"] == pytest.approx(2 / 7)
    assert strip["conventional_percent"] == 50.0
    assert strip["cpu"] == [10.0, 20.0, 30.0] and strip["memory"] == [50.0] * 3
    assert len(strip["sampled_at"]) == 3


async def test_header_strip_without_a_repository(store, tmp_path: Path) -> None:
    strip = await header_strip(store, tmp_path, None)
    assert strip["velocity"] is None and strip["conventional_percent"] is None


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "controlroom.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_user_config_is_read(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        "[correlator]\nsamples = 3\nfile_patterns = ['agents/*.py']\n"
        "[correlator.services]\nweb = 'gunicorn'\ndb = 'pidfile:/run/pg.pid'\n"
        "[correlator.endpoints]\nhome = 'http://127.0.0.1:8000/'\n"
        "[correlator.thresholds.critical]\ncpu = 40.0\n",
    )
    # --config FILE is the operator's own (trusted): its endpoints and outside pidfiles apply.
    settings = CorrelatorSettings.from_config(load_config(tmp_path, tmp_path / "controlroom.toml"))
    assert settings.samples == 3 and settings.file_patterns == ("agents/*.py",)
    assert settings.services == {"web": "gunicorn", "db": "pidfile:/run/pg.pid"}
    assert settings.endpoints == {"home": "http://127.0.0.1:8000/"}
    assert settings.thresholds.level_for("cpu", 39.0).value == "high"
    assert settings.thresholds.level_for("cpu", 40.0).value == "critical"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[correlator]\nsamples = 0\n", ":2: correlator.samples must be greater than 0"),
        ("[correlator.services]\nweb = 3\n", ":2: correlator.services.web has the wrong type"),
        ("[correlator]\nsettle_wait = 'soon'\n", ":2: correlator.settle_wait must be a number"),
        ("[correlator]\nnope = 1\n", ":2: unknown key correlator.nope"),
    ],
)
def test_bad_config_names_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    write_config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert message in caught.value.message


def test_thresholds_must_not_decrease(tmp_path: Path) -> None:
    write_config(tmp_path, "[correlator.thresholds.high]\nmemory = 50.0\n")
    with pytest.raises(ConfigError, match="memory must not decrease from low to critical"):
        CorrelatorSettings.from_config(load_config(tmp_path))
