"""The agents' timeout scales with the change: base + per file x changed Python files, capped."""

from __future__ import annotations

import pytest

from controlroom.core.config import load_config
from controlroom.core.errors import ConfigError
from controlroom.core.git import GitRepository
from controlroom.core.timeouts import agent_timeout

SETTINGS = "[agents]\ntimeout = 10.0\ntimeout_per_file = 0.5\ntimeout_max = 40.0\n"


def commit_files(repo, count: int, *, extra: dict | None = None) -> str:
    files = {f"pkg/m{n}.py": f"X = {n}\n" for n in range(count)}
    return repo.commit(files | (extra or {}), f"{count} files")


def test_effective_timeout_is_base_plus_per_file_capped_by_max(repo):
    repo.write({"controlroom.toml": SETTINGS})
    small = commit_files(repo, 4, extra={"notes.txt": "not python\n"})
    config = load_config(repo.path)
    git = GitRepository(repo.path)
    try:
        assert agent_timeout(config, git.changeset(small)) == 10.0 + 0.5 * 4
        repo.write({f"pkg/m{n}.py": f"X = {n + 1}\n" for n in range(30)})
        middle = repo.commit({}, "thirty files")
        assert agent_timeout(config, git.changeset(middle)) == 25.0
        big = commit_files(repo, 100)  # 70 new files, 30 changed again: 10 + 50 > 40
        assert agent_timeout(config, git.changeset(big)) == 40.0
    finally:
        git.close()


def test_the_defaults_give_a_release_commit_more_than_the_base(repo):
    sha = commit_files(repo, 500)
    config = load_config(repo.path)
    git = GitRepository(repo.path)
    try:
        timeout = agent_timeout(config, git.changeset(sha))
    finally:
        git.close()
    base, per_file = config.get("agents.timeout"), config.get("agents.timeout_per_file")
    assert timeout == min(base + per_file * 500, config.get("agents.timeout_max")) > base


def test_timeout_max_must_be_positive(repo):
    repo.write({"controlroom.toml": "[agents]\ntimeout_max = 0\n"})
    with pytest.raises(ConfigError, match=r"agents\.timeout_max must be greater than 0"):
        load_config(repo.path)
