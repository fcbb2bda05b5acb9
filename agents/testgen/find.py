"""The "is it tested" step: changed public functions, tested or not, and the modules' figures.

Static by default (``testgen_index``: test modules at the commit, names resolved through imports);
with a ``.coverage`` data file at the repository root, its line data decides instead.
"""

from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from controlroom.agents.testgen.coverage import (
    function_ran,
    load_line_coverage,
    module_line_coverage,
)
from controlroom.agents.testgen.index import (
    ModuleUsage,
    TestIndex,
    module_usage,
    package_of,
    reexports,
    words_for,
)
from controlroom.agents.testgen.static import (
    ChangedModule,
    FunctionInfo,
    changed_modules,
    is_test_path,
    module_name,
)
from controlroom.core.model import ChangeSet
from controlroom.core.toolkit.parsing import map_batches_blocking
from controlroom.core.toolkit.tree import TreeListing, grep_paths, list_tree, read_blobs

_USAGE_CACHE: dict[tuple[str, str], Any] = {}  # (blob id, path) -> ModuleUsage | None
_USAGE_CACHE_MAX = 50_000


@dataclass(slots=True)
class ModuleFigure:
    path: str
    module: str
    unit: str  # "functions" (static) or "lines" (coverage data)
    covered: int
    total: int

    @property
    def pct(self) -> float | None:
        return round(100.0 * self.covered / self.total, 1) if self.total else None

    def as_dict(self) -> dict[str, Any]:
        return {"pct": self.pct, "covered": self.covered, "total": self.total, "unit": self.unit}


@dataclass(slots=True)
class Resolution:
    mode: str  # "static" | "coverage"
    modules: list[ChangedModule]
    untested: list[FunctionInfo]
    figures: dict[str, ModuleFigure]  # by path
    tested_changed: int = 0
    test_modules_read: int = 0
    notes: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    analyze_all: bool = False


class UsageStore(Protocol):
    """A persistent home for parsed test modules (the agent's store cache), called from a thread."""

    def load(self, keys: list[str]) -> dict[str, dict[str, Any]]: ...

    def save(self, items: dict[str, dict[str, Any]], live: set[str]) -> None: ...


def resolve(
    change: ChangeSet,
    repo_root: Path,
    *,
    analyze_all: bool,
    use_coverage: bool,
    usage_store: UsageStore | None = None,
    max_bytes: int | None = None,
) -> Resolution:
    """Blocking (git subprocesses, parsing): call through ``asyncio.to_thread``."""
    started = time.perf_counter()
    listing = list_tree(change.repo_path, change.commit)
    modules = changed_modules(change, listing.init_files, analyze_all=analyze_all)
    coverage = load_line_coverage(repo_root) if use_coverage and modules else None
    if coverage is not None:
        result = _by_coverage(modules, coverage, repo_root)
        result.notes.append(f"test coverage from {coverage.source.name} (line data)")
    else:
        result = _by_static_resolution(change, listing, modules, usage_store, max_bytes)
    result.analyze_all = analyze_all
    result.duration_s = round(time.perf_counter() - started, 3)
    return result


def _by_coverage(modules: list[ChangedModule], coverage: Any, repo_root: Path) -> Resolution:
    untested, figures, tested = [], {}, 0
    for mod in modules:
        executed = coverage.lines_for(repo_root, mod.file.path)
        covered, total = module_line_coverage(mod.file.new_text or "", executed)
        figures[mod.file.path] = ModuleFigure(mod.file.path, mod.module, "lines", covered, total)
        for function in mod.changed:
            if function_ran(function.body_lines, executed):
                tested += 1
            else:
                untested.append(function)
    return Resolution("coverage", modules, untested, figures, tested)


def _aliases(
    repo: Path, listing: TreeListing, modules: list[ChangedModule], max_bytes: int | None = None
) -> dict[str, str]:
    """Re-exports from the ``__init__`` of every package above the changed modules."""
    wanted: dict[str, str] = {}  # init path -> package
    for mod in modules:
        parts = mod.module.split(".")
        for cut in range(1, len(parts) + 1):
            package = ".".join(parts[:cut])
            init = posixpath.join(mod.root, *parts[:cut], "__init__.py")
            if init in listing.blobs:
                wanted[init] = package
    texts = read_blobs(repo, [listing.blobs[p] for p in wanted], max_bytes)
    star_names: dict[str, set[str]] = {}  # what `from .mod import *` brings of a changed module
    for mod in modules:
        tops = {f.qualname.split(".")[0] for f in mod.functions}
        star_names.setdefault(mod.module, set()).update(n for n in tops if not n.startswith("_"))
    aliases: dict[str, str] = {}
    for init, package in wanted.items():
        aliases.update(reexports(texts.get(listing.blobs[init], ""), package, star_names))
    return {k: v for k, v in aliases.items() if k != v}


def _usage_key(oid: str, path: str) -> str:
    return f"usage:{oid}:{path}"


def _to_json(usage: ModuleUsage | None) -> dict[str, Any]:
    if usage is None:
        return {"unparsable": True}
    return {
        "called": sorted(usage.called),
        "referenced": sorted(usage.referenced),
        "loose": sorted(usage.loose_methods),
    }


def _from_json(data: dict[str, Any]) -> ModuleUsage | None:
    if data.get("unparsable"):
        return None
    return ModuleUsage(
        frozenset(data.get("called", ())),
        frozenset(data.get("referenced", ())),
        frozenset(data.get("loose", ())),
    )


def _usages(
    repo: Path,
    sha: str,
    listing: TreeListing,
    words: set[str],
    store: UsageStore | None,
    max_bytes: int | None = None,
) -> list[Any]:
    """Usage of every test module that mentions one of ``words``: memory, then store, then parse."""
    test_paths = sorted(p for p in listing.blobs if p.endswith(".py") and is_test_path(p))
    candidates = sorted(grep_paths(repo, sha, words, test_paths))
    if len(_USAGE_CACHE) > _USAGE_CACHE_MAX:
        _USAGE_CACHE.clear()
    missing = [p for p in candidates if (listing.blobs[p], p) not in _USAGE_CACHE]
    if missing and store is not None:
        stored = store.load([_usage_key(listing.blobs[p], p) for p in missing])
        for path in missing:
            data = stored.get(_usage_key(listing.blobs[path], path))
            if data is not None:
                _USAGE_CACHE[(listing.blobs[path], path)] = _from_json(data)
        missing = [p for p in missing if (listing.blobs[p], p) not in _USAGE_CACHE]
    texts = read_blobs(repo, sorted({listing.blobs[p] for p in missing}), max_bytes)
    jobs = []
    for path in missing:
        _, dotted = module_name(path, listing.init_files)
        package = package_of(dotted, path.endswith("__init__.py"))
        jobs.append((path, texts.get(listing.blobs[path]), package))
    # Parsing a large suite (Django: 1,416 modules) runs in the worker processes, off the GIL the
    # other agents share in this process.
    sizes = [len(text or "") for _, text, _ in jobs]
    parsed: dict[str, dict[str, Any]] = {}
    for path, usage in map_batches_blocking(usages_of, jobs, sizes):
        oid = listing.blobs[path]
        _USAGE_CACHE[(oid, path)] = usage
        parsed[_usage_key(oid, path)] = _to_json(usage)
    if parsed and store is not None:
        store.save(parsed, {_usage_key(listing.blobs[p], p) for p in test_paths})
    return [u for p in candidates if (u := _USAGE_CACHE.get((listing.blobs[p], p))) is not None]


def usages_of(jobs: list[tuple[str, str | None, str]]) -> list[tuple[str, ModuleUsage | None]]:
    """``(path, usage)`` of each ``(path, source, package)`` test module (a worker's batch)."""
    return [
        (path, module_usage(text, package) if text is not None else None)
        for path, text, package in jobs
    ]


def _by_static_resolution(
    change: ChangeSet,
    listing: TreeListing,
    modules: list[ChangedModule],
    store: UsageStore | None = None,
    max_bytes: int | None = None,
) -> Resolution:
    repo = change.repo_path
    index = TestIndex(aliases=_aliases(repo, listing, modules, max_bytes) if modules else {})
    words = words_for(f.qualname for mod in modules for f in mod.functions)
    words |= {alias.rsplit(".", 1)[-1] for alias in index.aliases}
    for usage in _usages(repo, change.commit, listing, words, store, max_bytes) if words else []:
        index.add(usage)
    owners: dict[str, set[str]] = {}
    for mod in modules:
        for f in mod.functions:
            if f.is_method:
                owners.setdefault(f.name, set()).add(f"{f.module}.{f.qualname.rpartition('.')[0]}")
    index.ambiguous = {name for name, classes in owners.items() if len(classes) > 1}
    untested, figures, tested = [], {}, 0
    for mod in modules:
        covered = sum(index.is_tested(f.module, f.qualname) for f in mod.functions)
        figures[mod.file.path] = ModuleFigure(
            mod.file.path, mod.module, "functions", covered, len(mod.functions)
        )
        for function in mod.changed:
            if index.is_tested(function.module, function.qualname):
                tested += 1
            else:
                untested.append(function)
    result = Resolution("static", modules, untested, figures, tested)
    result.test_modules_read = index.modules_read
    return result
