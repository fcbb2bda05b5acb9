"""``controlroom trust``: the operator's record of repository configs they trust (like direnv allow).

A record binds a repository (its resolved path) to the sha256 of its config's content: the whole
``controlroom.toml``, or the ``[tool.controlroom]`` table of ``pyproject.toml`` (so a version bump
elsewhere in pyproject.toml keeps the trust). Any change to that content changes the digest and the
trust lapses until the operator trusts the new content. The records live in the operator's data
directory (:func:`controlroom.core.locations.trust_file`), never inside a repository; a record file
that others could write is ignored.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import stat
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from controlroom.core.errors import ConfigError
from controlroom.core.locations import trust_file

HEADER = (
    "Repository configs trusted with `controlroom trust` (see docs/security.md).\n"
    "A record holds while the config's sha256 is unchanged. Remove one with `controlroom trust --revoke`."
)


class TrustStatus(enum.StrEnum):
    NO_CONFIG = "no repository config"
    TRUSTED = "trusted"
    UNTRUSTED = "not trusted"
    CHANGED = "changed since it was trusted"


def config_digest(prefix: str, raw: bytes, table: dict[str, Any]) -> str:
    """sha256 of what decides the settings: the file's bytes, or the pyproject table's content."""
    if prefix:
        canonical = json.dumps(table, sort_keys=True, ensure_ascii=False, default=_tagged)
        payload = b"pyproject.toml [tool.controlroom]\n" + canonical.encode("utf-8")
    else:
        payload = b"controlroom.toml\n" + raw
    return hashlib.sha256(payload).hexdigest()


def _tagged(value: Any) -> str:
    return f"{type(value).__name__}:{value.isoformat() if hasattr(value, 'isoformat') else value}"


def _key(repo: Path) -> str:
    return str(repo.resolve())


def records(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every record, by repository path. An unsafe (writable by others) file counts as empty."""
    path = path or trust_file()
    try:
        info = path.stat()
    except FileNotFoundError:
        return {}
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"trust records are unreadable: {exc}", path=str(path)) from exc
    repos = document.get("repos", {})
    return (
        {k: v for k, v in repos.items() if isinstance(v, dict)} if isinstance(repos, dict) else {}
    )


def status(repo: Path, file_name: str, digest: str) -> tuple[TrustStatus, dict[str, Any] | None]:
    """Whether ``repo``'s config (``file_name`` with ``digest``) is trusted, and the record."""
    record = records().get(_key(repo))
    if record is None:
        return TrustStatus.UNTRUSTED, None
    if record.get("file") == file_name and record.get("sha256") == digest:
        return TrustStatus.TRUSTED, record
    return TrustStatus.CHANGED, record


def trust(repo: Path, file_name: str, digest: str) -> Path:
    """Record ``digest`` as trusted for ``repo``; returns the record file."""
    entry = {
        "file": file_name,
        "sha256": digest,
        "trusted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return _write({**records(), _key(repo): entry})


def revoke(repo: Path) -> bool:
    """Forget ``repo``'s record; False when there was none."""
    current = records()
    if current.pop(_key(repo), None) is None:
        return False
    _write(current)
    return True


def _write(repos: dict[str, dict[str, Any]]) -> Path:
    import tomlkit  # only when the record changes: reading uses tomllib

    path = trust_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    document = tomlkit.document()
    for line in HEADER.splitlines():
        document.add(tomlkit.comment(line))
    table = tomlkit.table()
    for key in sorted(repos):
        table[key] = repos[key]
    document["repos"] = table
    fd, temporary = tempfile.mkstemp(prefix=".trusted-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
            handle.write(tomlkit.dumps(document))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
