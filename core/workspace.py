"""The repository, config and store a command works on, resolved once from the command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git

from controlroom.core import secrets
from controlroom.core.config import Config, load_config
from controlroom.core.errors import RepositoryError
from controlroom.core.paths import default_db_path
from controlroom.core.store import Store


def find_repo_root(path: Path) -> Path:
    """The top of the git work tree containing ``path``; RepositoryError (exit 3) otherwise."""
    if not path.exists():
        raise RepositoryError(f"not a git repository: {path} does not exist")
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise RepositoryError(f"not a git repository: {path}") from None
    if repo.bare or repo.working_tree_dir is None:
        raise RepositoryError(f"a bare repository has no work tree to watch: {path}")
    return Path(repo.working_tree_dir).resolve()


@dataclass(frozen=True)
class Workspace:
    repo_path: Path
    config: Config
    db_path: Path

    async def open_store(self) -> Store:
        return await Store.open(self.db_path)


def resolve_workspace(
    repo: str | Path | None = None,
    db: str | Path | None = None,
    config_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> Workspace:
    """Repository root (``repo`` or the current directory), merged config, and the store's path."""
    root = find_repo_root(Path(repo or ".").resolve())
    config = load_config(root, Path(config_file) if config_file else None)
    if overrides:
        config = config.with_overrides(overrides)
    secrets.configure(config)  # [security] secret_env joins the names redact() knows
    db_path = Path(db).resolve() if db else default_db_path(root)
    return Workspace(root, config, db_path)
