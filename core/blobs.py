"""Reading many blobs of a repository at once, never one larger than ``git.max_file_bytes``.

Sizes come first from ``git cat-file --batch-check``; only blobs within the cap are then read with
``git cat-file --batch``, so a planted 50 MB file never reaches memory.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from controlroom.core.secrets import child_env

_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}


def max_file_bytes(settings: Mapping[str, Any] | None) -> int | None:
    """``git.max_file_bytes`` from the whole config (``AgentContext.settings``); None if absent."""
    value = ((settings or {}).get("git") or {}).get("max_file_bytes")
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _git(repo: Path, args: list[str], data: bytes) -> bytes:
    return subprocess.run(
        ["git", *args],
        cwd=repo,
        input=data,
        capture_output=True,
        check=True,
        timeout=120,
        env=child_env(_ENV),
    ).stdout


def read_blobs(repo: Path, specs: list[str], max_bytes: int | None) -> dict[str, bytes]:
    """``spec`` (a blob id or ``commit:path``) -> its bytes, for the blobs that exist and fit."""
    unique = [s for s in dict.fromkeys(specs) if s and "\n" not in s]
    if not unique:
        return {}
    check = _git(
        repo,
        ["cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"],
        "".join(f"{s}\n" for s in unique).encode("utf-8", "surrogateescape"),
    )
    wanted: list[tuple[str, str]] = []  # (spec, object id)
    for spec, line in zip(unique, check.decode("utf-8", "replace").splitlines(), strict=False):
        parts = line.split()
        if len(parts) != 3 or parts[1] != "blob":
            continue  # "missing", a tree, a submodule
        if max_bytes is not None and int(parts[2]) > max_bytes:
            continue
        wanted.append((spec, parts[0]))
    if not wanted:
        return {}
    out = _git(repo, ["cat-file", "--batch"], "".join(f"{oid}\n" for _, oid in wanted).encode())
    found: dict[str, bytes] = {}
    pos = 0
    for spec, _oid in wanted:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].rsplit(b" ", 1)[1])
        found[spec] = out[header_end + 1 : header_end + 1 + size]
        pos = header_end + 1 + size + 1
    return found
