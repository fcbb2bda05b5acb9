"""Shared fixtures: real git repositories in temporary directories, a real store."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controlroom.core.store import Store

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


class RepoBuilder:
    """A real git repository that tests grow commit by commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env={**os.environ, **GIT_ENV, **(env or {})},
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def write(self, files: dict[str, str | bytes | None]) -> None:
        """Write (str/bytes) or delete (None) files in the working tree."""
        for name, content in files.items():
            target = self.path / name
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")

    def commit(
        self,
        files: dict[str, str | bytes | None],
        message: str = "change",
        *,
        date: str | None = None,
    ) -> str:
        """Write ``files`` and commit everything; returns the new commit's sha."""
        self.write(files)
        self.git("add", "-A")
        env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date} if date else None
        self.git("commit", "-q", "--allow-empty", "-m", message, env=env)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


@pytest.fixture(autouse=True)
def _operator_dirs(tmp_path_factory, monkeypatch):
    """Each test has its own empty user config and trust records, never the developer's own."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    # The suite's tests list every task they make, nitpicks included; the default fold
    # ([queue] min_severity = "medium") is tested on its own (tests/*/test_nitpick_fold.py).
    user_config = home / "config" / "controlroom" / "config.toml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text('[queue]\nmin_severity = "info"\n')


@pytest.fixture
def make_repo(tmp_path: Path):
    """``make_repo()`` -> a new empty RepoBuilder; ``make_repo("name")`` for several per test."""

    def factory(name: str = "repo") -> RepoBuilder:
        return RepoBuilder(tmp_path / name)

    return factory


@pytest.fixture
def repo(make_repo) -> RepoBuilder:
    return make_repo()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state.db")
    try:
        yield opened
    finally:
        await opened.close()
