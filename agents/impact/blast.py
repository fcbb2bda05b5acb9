"""Blast radius: the repository's reverse import graph and the call sites of changed symbols.

The graph is a map ``path -> record`` (records from :mod:`agents.impact.scan`). It is cached in the
agent cache under ``graph`` with the commit it describes and updated incrementally: only files that
differ from the cached commit are parsed again. A module counts as importing another when it names
it in an ``import`` or ``from ... import`` (any level, relative imports resolved); importing
``a.b.c`` counts for ``a.b.c`` only, not for its parent packages.
"""

from __future__ import annotations

import subprocess
from collections import deque
from pathlib import Path
from typing import Any

from controlroom.agents.impact.scan import is_test_path
from controlroom.core.blobs import read_blobs
from controlroom.core.secrets import child_env
from controlroom.core.sourcetext import decode_text

GRAPH_KEY = "graph"
GRAPH_VERSION = 1
_GRAPH_FIELDS = ("module", "imports", "calls", "defs", "bindings")


def graph_record(record: dict[str, Any]) -> dict[str, Any]:
    """The part of a scan record the cached graph keeps."""
    return {k: record[k] for k in _GRAPH_FIELDS if k in record}


# -- reading files from git --------------------------------------------------------------------


def _git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    result = subprocess.run(
        ["git", *args],
        cwd=repo,
        input=data,
        capture_output=True,
        check=True,
        timeout=120,
        env=child_env(),
    )
    return result.stdout


def python_paths(repo: Path, commit: str) -> list[str]:
    """Every ``.py`` path in ``commit``'s tree (one ``git ls-tree`` call)."""
    out = _git(repo, "ls-tree", "-r", "-z", "--name-only", commit)
    return [p for p in out.decode("utf-8", "replace").split("\0") if p.endswith(".py")]


def changed_python_paths(repo: Path, old: str, new: str) -> tuple[list[str], list[str]]:
    """(.py paths added or modified, .py paths deleted) between two commits."""
    out = _git(repo, "diff", "--no-renames", "-z", "--name-status", old, new).decode(
        "utf-8", "replace"
    )
    fields = [f for f in out.split("\0") if f]
    changed: list[str] = []
    deleted: list[str] = []
    for status, path in zip(fields[::2], fields[1::2], strict=False):
        if not path.endswith(".py"):
            continue
        (deleted if status.startswith("D") else changed).append(path)
    return changed, deleted


def read_texts(
    repo: Path, commit: str, paths: list[str], max_bytes: int | None = None
) -> dict[str, str]:
    """Texts of ``paths`` at ``commit`` (PEP 263 for Python), none over ``max_bytes``."""
    data = read_blobs(repo, [f"{commit}:{p}" for p in paths], max_bytes)
    texts: dict[str, str] = {}
    for path in paths:
        raw = data.get(f"{commit}:{path}")
        text = None if raw is None else decode_text(raw, path)
        if text is not None:
            texts[path] = text
    return texts


# -- the graph ---------------------------------------------------------------------------------


class ImportGraph:
    """Modules of one commit and who imports whom."""

    def __init__(self, files: dict[str, dict[str, Any]], commit: str | None = None) -> None:
        self.files = files
        self.commit = commit
        self.extra_parsed = 0  # files parsed to bring the graph to this commit (not the change set)
        self._reverse: dict[str, set[str]] | None = None
        self._calls: dict[str, list[tuple[str, int]]] | None = None
        self._tests: set[str] | None = None
        self.path_of = {rec["module"]: path for path, rec in sorted(files.items())}

    # persistence
    def to_cache(self) -> dict[str, Any]:
        return {"version": GRAPH_VERSION, "commit": self.commit, "files": self.files}

    @classmethod
    def from_cache(cls, data: Any) -> ImportGraph | None:
        if not isinstance(data, dict) or data.get("version") != GRAPH_VERSION:
            return None
        return cls(dict(data.get("files", {})), data.get("commit"))

    def update(self, records: dict[str, dict[str, Any]], deleted: list[str], commit: str) -> None:
        """Replace the records of changed files, drop deleted ones, move to ``commit``."""
        for path in deleted:
            self.files.pop(path, None)
        for path, record in records.items():
            self.files[path] = graph_record(record)
        self.commit = commit
        self.path_of = {rec["module"]: path for path, rec in sorted(self.files.items())}
        self._reverse = self._calls = self._tests = None

    # queries
    def resolve_import(self, source: str, name: str | None) -> str | None:
        """The repository module an import entry points at, or None when it is outside."""
        if name and f"{source}.{name}" in self.path_of:
            return f"{source}.{name}"
        parts = source.split(".")
        while parts:
            candidate = ".".join(parts)
            if candidate in self.path_of:
                return candidate
            parts.pop()
        return None

    def reverse(self) -> dict[str, set[str]]:
        """module -> the modules that import it directly."""
        if self._reverse is None:
            reverse: dict[str, set[str]] = {}
            for record in self.files.values():
                importer = record["module"]
                for source, name, _line in record.get("imports", ()):
                    target = self.resolve_import(source, name)
                    if target is not None and target != importer:
                        reverse.setdefault(target, set()).add(importer)
            self._reverse = reverse
        return self._reverse

    def importers(self, module: str) -> tuple[set[str], set[str]]:
        """(direct importers, all transitive importers) of ``module``."""
        reverse = self.reverse()
        direct = set(reverse.get(module, ()))
        seen: set[str] = set()
        queue = deque(direct)
        while queue:
            current = queue.popleft()
            if current in seen or current == module:
                continue
            seen.add(current)
            queue.extend(reverse.get(current, ()))
        return direct, seen

    def _resolve_symbol(self, qualified: str) -> str:
        """Follow re-exports: ``pkg.func`` -> ``pkg.mod.func`` when ``pkg`` imports it."""
        for _ in range(5):
            head, _, name = qualified.rpartition(".")
            path = self.path_of.get(head)
            if path is None:
                # maybe "pkg.Class.method": resolve the class part
                module, _, rest = head.rpartition(".")
                path = self.path_of.get(module)
                if path is None or not rest:
                    return qualified
                bound = self.files[path].get("bindings", {}).get(rest)
                if bound is None:
                    return qualified
                qualified = f"{bound}.{name}"
                continue
            bound = self.files[path].get("bindings", {}).get(name)
            if bound is None or bound == qualified:
                return qualified
            qualified = bound
        return qualified

    def call_index(self) -> dict[str, list[tuple[str, int]]]:
        """Resolved callee -> [(path, line)] over the whole repository."""
        if self._calls is None:
            index: dict[str, list[tuple[str, int]]] = {}
            for path, record in self.files.items():
                for target, lines in record.get("calls", {}).items():
                    resolved = self._resolve_symbol(target)
                    index.setdefault(resolved, []).extend((path, n) for n in lines)
            self._calls = index
        return self._calls

    def call_sites(self, module: str, symbol: str) -> list[tuple[str, int]]:
        """Calls of ``module.symbol`` from other files."""
        own = self.path_of.get(module)
        found = self.call_index().get(f"{module}.{symbol}", [])
        return sorted((p, n) for p, n in found if p != own)

    def blast(self, module: str, symbols: list[str]) -> dict[str, Any]:
        """The blast radius of a change to ``symbols`` of ``module``."""
        direct, transitive = self.importers(module)
        sites = {s: self.call_sites(module, s) for s in symbols}
        if self._tests is None:
            self._tests = {m for m, path in self.path_of.items() if is_test_path(path)}
        return {
            "module": module,
            "direct": len(direct),
            "transitive": len(transitive),
            "tests_direct": len(direct & self._tests),
            "tests": len(transitive & self._tests),
            "call_sites": sum(len(v) for v in sites.values()),
            "symbols": {s: len(v) for s, v in sites.items() if v},
        }


def changed_symbols(
    record: dict[str, Any], ranges: tuple[tuple[int, int], ...] | None
) -> list[str]:
    """Public definitions of a scanned file that intersect ``ranges`` (None: all of them)."""
    out = []
    for name, first, last in record.get("defs", ()):
        if any(part.startswith("_") for part in name.split(".")):
            continue
        if ranges is None or any(s <= last and first <= e for s, e in ranges):
            out.append(name)
    return out
