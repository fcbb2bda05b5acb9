"""A reader that goes away (``controlroom tasks | head``) ends the command quietly."""

from __future__ import annotations

import subprocess
from pathlib import Path

from controlroom.core.store import Store
from tests.app.seed import insert_tasks
from tests.e2e.cli import CONTROLROOM, cli_env


async def test_tasks_into_a_closed_pipe_ends_without_a_traceback(repo, tmp_path: Path) -> None:
    repo.commit({"a.py": "x = 1\n"})
    db = tmp_path / "state.db"
    store = await Store.open(db)
    try:
        await insert_tasks(store, 3000)  # far more output than a pipe's buffer holds
    finally:
        await store.close()
    process = subprocess.Popen(
        [CONTROLROOM, "tasks", "--repo", str(repo.path), "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline()  # like `head -1`: one line, then the reader goes away
    process.stdout.close()
    stderr = process.stderr.read().decode()
    code = process.wait(timeout=60)
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    assert stderr == ""
    assert code in (0, 141)
