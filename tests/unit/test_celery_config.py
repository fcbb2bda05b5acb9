"""``[subagents] backend`` and the broker settings: choices, credentials only from the
environment (never shown), untrusted repository configs, and a broker that is down (the
coordinator says so and falls back at once, no hang)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from controlroom.core.config import load_config
from controlroom.core.errors import ConfigError
from controlroom.core.locations import user_config_file
from controlroom.core.secrets import redact
from controlroom.core.store import Store
from controlroom.core.subagents.backends import build_executor
from controlroom.core.subagents.celery_app import broker_problem, make_app
from controlroom.core.subagents.celery_executor import CeleryExecutor
from controlroom.core.subagents.celery_settings import CelerySettings, masked
from controlroom.core.subagents.executor import StoreExecutor
from controlroom.core.subagents.settings import SubagentSettings
from controlroom.core.subagents.units import LOCAL, WorkUnit
from controlroom.core.workspace import resolve_workspace
from tests.unit import celery_support as cs

SECRET = "hunter2-very-secret"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_backend_is_one_of_three_and_defaults_to_store(tmp_path: Path) -> None:
    assert load_config(None).get("subagents.backend") == "store"
    write(user_config_file(), '[subagents]\nbackend = "kafka"\n')
    with pytest.raises(ConfigError, match=r"subagents\.backend"):
        load_config(None)


def test_a_password_in_a_config_file_is_refused(tmp_path: Path) -> None:
    write(user_config_file(), f'[subagents]\nbroker_url = "redis://:{SECRET}@10.0.0.5:6379/0"\n')
    with pytest.raises(ConfigError) as caught:
        CelerySettings.from_config(load_config(None), env={})
    assert "CONTROLROOM_BROKER_PASSWORD" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_the_password_comes_from_the_environment_and_is_never_shown(monkeypatch) -> None:
    monkeypatch.setenv("CONTROLROOM_BROKER_PASSWORD", SECRET)
    write(user_config_file(), '[subagents]\nbroker_url = "redis://10.0.0.5:6379/3"\n')
    settings = CelerySettings.from_config(load_config(None))
    assert settings.broker_url == f"redis://:{SECRET}@10.0.0.5:6379/3"
    assert settings.result_backend == settings.broker_url
    assert settings.shown_broker == "redis://:***@10.0.0.5:6379/3"
    assert SECRET not in redact(f"failed to reach {settings.broker_url}")
    whole = f"redis://:{SECRET}@10.0.0.9:6379/1"
    monkeypatch.setenv("CONTROLROOM_BROKER_URL", whole)
    assert CelerySettings.from_config(load_config(None)).broker_url == whole
    assert SECRET not in redact(f"broker {whole}")  # the URL variable itself is a secret
    assert masked("redis://u:p%40ss@h:1/2") == "redis://u:***@h:1/2"


def test_visibility_timeout_must_outlast_the_unit_time_limit() -> None:
    write(
        user_config_file(),
        "[subagents]\nunit_time_limit = 600.0\nvisibility_timeout = 300.0\n",
    )
    with pytest.raises(ConfigError, match="visibility_timeout"):
        CelerySettings.from_config(load_config(None), env={})


def test_a_repository_config_cannot_send_units_to_its_own_broker(tmp_path: Path) -> None:
    write(
        tmp_path / "controlroom.toml",
        '[subagents]\nbackend = "celery"\nbroker_url = "redis://evil.invalid:6379/0"\n'
        'result_backend = "redis://evil.invalid:6379/1"\nremote = "https://evil.invalid/r.git"\n'
        "max_concurrent = 2\n",
    )
    config = load_config(tmp_path)
    assert config.get("subagents.backend") == "store"
    assert config.get("subagents.broker_url") == "redis://127.0.0.1:6379/0"
    assert config.get("subagents.max_concurrent") == 2  # a harmless setting applies
    assert set(config.ignored_untrusted) == {
        "subagents.backend",
        "subagents.broker_url",
        "subagents.result_backend",
        "subagents.remote",
    }


async def test_the_local_backend_runs_every_unit_here(tmp_path: Path, repo) -> None:
    repo.commit({"a.py": "x = 1\n"})
    write(user_config_file(), '[subagents]\nbackend = "local"\n')
    workspace = resolve_workspace(repo.path, tmp_path / "s.db")
    store = await Store.open(workspace.db_path)
    try:
        executor = build_executor(store, workspace)
        assert type(executor) is StoreExecutor and executor.route is False
        result = await executor.run(WorkUnit.probe())
        assert (result.ok, result.where) == (True, LOCAL)
        await executor.close()
    finally:
        await store.close()


async def test_a_broker_that_is_down_falls_back_at_once(tmp_path: Path) -> None:
    down = f"redis://127.0.0.1:{closed_port()}/0"
    store = await Store.open(tmp_path / "s.db")
    executor = CeleryExecutor(
        store,
        celery=CelerySettings(broker_url=down, unit_time_limit=5, visibility_timeout=10,
                              connect_timeout=1.0, liveness_timeout=0.5),
        settings=SubagentSettings(local_capabilities=("probe",)),
    )  # fmt: skip
    try:
        started = time.monotonic()
        here = await executor.run(WorkUnit.probe(tag="x"))
        assert (here.ok, here.where) == (True, LOCAL)
        refused = await executor.run(WorkUnit.probe(capability="tests"))
        assert not refused.ok
        assert f"broker {down} unreachable" in (refused.error or "")
        assert "locally is not allowed" in (refused.error or "")
        assert time.monotonic() - started < 15
        assert executor.problems and "unreachable" in executor.problems[0]
    finally:
        await executor.close()
        await store.close()


@pytest.mark.skipif(cs.redis_problem() is not None, reason=cs.redis_problem() or "")
def test_a_refused_password_is_reported_without_the_password(monkeypatch) -> None:
    """The local Redis knows no user "nobody": AUTH fails, and the reason hides the secret."""
    url = cs.REDIS_URL.replace("redis://", f"redis://nobody:{SECRET}@")
    monkeypatch.setenv("CONTROLROOM_BROKER_URL", url)
    settings = CelerySettings.from_config(load_config(None))
    assert settings.shown_broker.startswith("redis://nobody:***@")
    app = make_app(settings)
    try:
        problem = broker_problem(app, 2.0)
    finally:
        app.close()
    assert problem is not None and "username-password" in problem
    assert SECRET not in (redact(problem) or "")


async def test_the_runtime_of_a_celery_coordinator(tmp_path: Path, repo, store) -> None:
    """The TUI's runtime sends agent runs through Celery and keeps the workers' rows current;
    with the broker down its agent runs fall back to this process, at once."""
    from controlroom.core.services import create_runtime
    from tests.unit.spine_helpers import ScriptedAgent

    repo.commit({"a.py": "x = eval(y)\n"}, "one")
    down = f"redis://127.0.0.1:{closed_port()}/0"
    write(
        user_config_file(),
        f'[subagents]\nbackend = "celery"\nbroker_url = "{down}"\nconnect_timeout = 1.0\n',
    )
    workspace = resolve_workspace(repo.path, tmp_path / "state.db")
    runtime = create_runtime(workspace, store, agents=[ScriptedAgent("critic", "eval(", "S307")])
    assert {s.name for s in runtime.services} == {"sla", "correlator", "hobbies", "celery-monitor"}
    started = time.monotonic()
    try:
        [report] = await runtime.check_now()
    finally:
        for close in runtime.closers:
            await close()
        runtime.repo.close()
    assert [(run.agent, run.where, run.status.value) for run in report.runs] == [
        ("critic", "local", "ok")
    ]
    assert time.monotonic() - started < 15


def test_a_worker_without_its_broker_says_so_in_one_line(tmp_path: Path, repo) -> None:
    import subprocess
    import sys

    repo.commit({"a.py": "x = 1\n"})
    down = f"redis://127.0.0.1:{closed_port()}/0"
    config = write(tmp_path / "op.toml", f'[subagents]\nbroker_url = "{down}"\n')
    result = subprocess.run(
        [sys.executable, "-m", "controlroom.tui.commands.worker", "--backend", "celery",
         "--repo", str(repo.path), "--config", str(config), "--cache-dir", str(tmp_path / "c")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"controlroom: error: broker {down} unreachable: ")
