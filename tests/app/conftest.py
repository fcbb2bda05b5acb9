"""App fixtures: a real repository with a problematic commit, a real store seeded by the pipeline."""

from __future__ import annotations

import pytest

from controlroom.core.workspace import Workspace
from controlroom.tui.app import ControlRoomApp, create_app
from tests.app.seed import FIXED_NOW, PROBLEM_CODE, analyze, workspace_for


@pytest.fixture
def workspace(repo, tmp_path) -> Workspace:
    repo.commit({"README.md": "demo\n"}, "initial")
    repo.commit({"app/main.py": PROBLEM_CODE}, "add main with problems")
    return workspace_for(repo.path, tmp_path / "state.db")


@pytest.fixture
async def seeded(workspace, repo) -> Workspace:
    """The head commit analyzed by the real pipeline (another connection, like a cron run)."""
    await analyze(workspace, repo.head())
    return workspace


@pytest.fixture
def make_app():
    def factory(workspace: Workspace, **kwargs) -> ControlRoomApp:
        kwargs.setdefault("background", False)
        kwargs.setdefault("clock", lambda: FIXED_NOW + 7200)
        app = create_app(workspace, **kwargs)
        app.animation_level = "none"  # pilot waits for animations: tab underlines cost 0.3 s each
        return app

    return factory
