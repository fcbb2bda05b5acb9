"""Read a commit's tree with plain git (never the working tree): listing, grep and blob contents."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from controlroom.core.blobs import read_blobs as bounded_blobs
from controlroom.core.secrets import child_env
from controlroom.core.sourcetext import decode_python


@dataclass(frozen=True, slots=True)
class TreeListing:
    """``path -> blob id`` of every file in a commit."""

    blobs: dict[str, str]
    init_files: frozenset[str] = field(init=False)  # the package ``__init__.py`` paths

    def __post_init__(self) -> None:
        inits = frozenset(p for p in self.blobs if p == "__init__.py" or p.endswith("/__init__.py"))
        object.__setattr__(self, "init_files", inits)  # once: asked for every test module


def _git(repo: Path, *args: str, stdin: bytes | None = None, ok: tuple[int, ...] = (0,)) -> bytes:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args],
        input=stdin,
        capture_output=True,
        check=False,
        env=child_env(),
    )
    if proc.returncode not in ok:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"git {args[0]} failed: {message[-1] if message else proc.returncode}")
    return proc.stdout


def list_tree(repo: Path, sha: str) -> TreeListing:
    out = _git(repo, "ls-tree", "-r", "-z", "--full-tree", sha)
    blobs = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        mode, kind, oid = meta.split()
        if kind == b"blob" and mode != b"120000":
            blobs[path.decode("utf-8", "surrogateescape")] = oid.decode()
    return TreeListing(blobs)


def grep_paths(repo: Path, sha: str, words: set[str], paths: list[str]) -> set[str]:
    """Paths among ``paths`` (at ``sha``) containing any of ``words`` as a whole word."""
    if not words or not paths:
        return set()
    patterns = [arg for word in sorted(words) for arg in ("-e", word)]
    found: set[str] = set()
    for start in range(0, len(paths), 2000):  # stay far below the argument-length limit
        chunk = paths[start : start + 2000]
        out = _git(repo, "grep", "-l", "-z", "-w", "-F", *patterns, sha, "--", *chunk, ok=(0, 1))
        prefix = f"{sha}:"
        for item in out.split(b"\0"):
            name = item.decode("utf-8", "surrogateescape")
            if name:
                found.add(name.removeprefix(prefix))
    return found


def read_blobs(repo: Path, oids: list[str], max_bytes: int | None = None) -> dict[str, str]:
    """Texts of the given Python blobs (PEP 263), undecodable ones and any over ``max_bytes``
    skipped; sizes are checked before a blob is read."""
    texts: dict[str, str] = {}
    for oid, data in bounded_blobs(repo, oids, max_bytes).items():
        text = decode_python(data)
        if text is not None:
            texts[oid] = text
    return texts
