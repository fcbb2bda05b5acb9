"""The impact agent's API comparison of a change set: each changed public module's parent API
against its new one (``impact_api``), judged against the new tree, with the deprecations the commit
adds (``impact_deprecations``), cached per module text in the agent cache."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from controlroom.agents.impact import announced as impact_announced
from controlroom.agents.impact import api as impact_api
from controlroom.agents.impact import deprecations as impact_deprecations
from controlroom.agents.impact import exposure as impact_exposure
from controlroom.agents.impact import shims as impact_shims
from controlroom.agents.impact.blast import read_texts
from controlroom.agents.impact.findings import (
    api_finding,
    fold_alike_in_module,
    fold_same_method_changes,
    removed_constructors,
)
from controlroom.agents.impact.paths import api_module, library_module
from controlroom.agents.impact.resolve import TreeView
from controlroom.agents.impact.scan import module_name
from controlroom.agents.impact.stubs import stubs_removed
from controlroom.core.model import AgentCache, ChangeSet, FileChange, FileStatus, Finding
from controlroom.core.settings import table
from controlroom.core.toolkit.parsing import retry_system_error


async def compare_change(
    change: ChangeSet,
    cache: AgentCache | None,
    config: dict[str, Any],
    notes: list[str],
    view: TreeView,
) -> tuple[list[Finding], dict[str, int]]:
    exclude = list(table("impact", config)["api_exclude"])
    pairs = []
    for f in change.files:
        old_path = f.old_path or f.path
        if f.status is FileStatus.ADDED or f.old_text is None or not api_module(old_path):
            continue
        if any(PurePosixPath(old_path).match(p) for p in exclude):
            continue
        pairs.append(f)
    findings: list[Finding] = []
    api_hits = 0
    # A package made a module (pkg/x/__init__.py -> pkg/x.py) or the reverse: same import path.
    added = {
        module_name(g.path): g
        for g in change.files
        if g.status is FileStatus.ADDED and g.new_text is not None and api_module(g.path)
    }
    for f in pairs:
        old_path = f.old_path or f.path
        module = module_name(old_path)
        if f.status is FileStatus.DELETED and module in added:  # compared as a rename
            f = replace(
                added[module], status=FileStatus.RENAMED, old_path=old_path, old_text=f.old_text
            )
        old_key = f"api:{old_path}"
        old_hash = impact_api.text_key(f.old_text or "")
        entry = await cache.get(old_key) if cache else None
        old = None
        if isinstance(entry, dict) and isinstance(entry.get(old_hash), str):
            old = impact_api.from_cache(entry[old_hash])
        new_text = f.new_text if f.status is not FileStatus.DELETED else None
        moved = f.status is FileStatus.RENAMED and module_name(f.path) != module
        target = None if moved else new_text
        # The same commit again: the whole comparison is reused (it depends on the tree).
        result_key = f"{change.commit}:{f.path}:{old_hash}:{target is not None}"
        reused = await _reused(cache, old_path, result_key)
        api_hits += old is not None or reused is not None
        if reused is not None:
            findings += [api_finding(f, b, new_text, change.parent) for b in reused]
            continue
        try:
            breaks, loaded, new = await asyncio.to_thread(
                retry_system_error,
                lambda: _compare(module, old_path, f, old, target, view),  # noqa: B023
            )
        except (SyntaxError, ValueError, RecursionError) as exc:
            why = "syntax error" if isinstance(exc, SyntaxError) else type(exc).__name__
            notes.append(f"{f.path}: API not compared ({why})")
            continue
        if cache is not None:
            done = [impact_api.break_to_dict(b) for b in breaks]
            await cache.put(f"apidiff:{old_path}", {"key": result_key, "breaks": done})
        if cache is not None and new is not None and new_text is not None:
            raw = impact_api.to_cache(new)
            if raw is not None:
                # The last two versions of the module: the next commit's parent, and this
                # commit's parent again when the same commit is analyzed twice.
                if old is not None and entry:
                    kept = {old_hash: entry[old_hash]}
                else:
                    old_raw = impact_api.to_cache(loaded)
                    kept = {old_hash: old_raw} if old_raw is not None else {}
                kept[impact_api.text_key(new_text)] = raw
                await cache.put(f"api:{f.path}", kept)
        for b in breaks:
            findings.append(api_finding(f, b, new_text, change.parent))
    findings += await asyncio.to_thread(private_deprecations, change, pairs, view)
    removed_constructors(list(change.python_files()), findings)
    findings = impact_shims.one_per_name(fold_same_method_changes(findings))
    if findings:
        await asyncio.to_thread(impact_exposure.lower_internal_removals, change, findings)
        await asyncio.to_thread(impact_exposure.lower_package_built_constructors, change, findings)
        await asyncio.to_thread(impact_exposure.lower_module_only_classes, change, findings)
        await asyncio.to_thread(
            impact_exposure.lower_ended_cycles_and_internal_modules, change, findings
        )
        findings = fold_alike_in_module(impact_announced.gather(change, findings))
    return findings, {"compared": len(pairs), "cached": api_hits}


def private_deprecations(
    change: ChangeSet, compared: list[FileChange], view: TreeView
) -> list[Finding]:
    """Deprecations added in private modules (``pkg/_impl.py``), where public APIs often live
    and are re-exported from: their public functions' new deprecation warnings."""
    out: list[Finding] = []
    seen = {id(f) for f in compared}
    for f in change.python_files():
        if id(f) in seen or f.status is not FileStatus.MODIFIED or not f.new_text:
            continue
        if not library_module(f.path) or api_module(f.path):
            continue
        module = module_name(f.path)
        judge = impact_deprecations.category_judge(view, module)
        try:
            added = impact_deprecations.added(f.old_text or "", f.new_text, f.touches, judge)
        except (SyntaxError, ValueError, RecursionError):
            continue
        for b in impact_deprecations.as_breaks(module, added, []):
            out.append(api_finding(f, b, f.new_text, change.parent))
    return out


def _compare(
    module: str, path: str, f: FileChange, old: Any, new_text: str | None, view: TreeView
) -> tuple[list[impact_api.ApiBreak], Any, Any]:
    """The API breaks and new deprecations of one module, with its old and new griffe APIs."""
    old_text = f.old_text or ""
    if old is None:
        old = impact_api.load_module(module, path, old_text)
    new = impact_api.load_module(module, path, new_text) if new_text is not None else None
    breaks = impact_api.breaking_changes(module, old, new, new_text, view)
    judge = impact_deprecations.category_judge(view, module)
    impact_deprecations.soften_announced(breaks, old_text, judge)
    stubs_removed(module, breaks, old_text)
    breaks = impact_shims.served_names_removed(module, breaks, old_text, new, new_text)
    if new_text is not None:
        added = impact_deprecations.added(old_text, new_text, f.touches, judge)
        shimmed: list[str] = []
        if any(d.qualname == "__getattr__" for d in added):
            covered: set[str | None] = set()
            for b in breaks:
                if b.kind == "API_DEPRECATED":
                    names = b.details.get("deprecated")
                    covered.update(names if isinstance(names, list) else [names])
            shimmed = [n for n in impact_deprecations.shim_names(new_text) if n not in covered]
        breaks += impact_deprecations.as_breaks(module, added, shimmed)
    return breaks, old, new


async def _reused(
    cache: AgentCache | None, old_path: str, key: str
) -> list[impact_api.ApiBreak] | None:
    """The breaks found for this very comparison before (None: not cached or unusable)."""
    entry = await cache.get(f"apidiff:{old_path}") if cache else None
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    try:
        return [impact_api.break_from_dict(d) for d in entry["breaks"]]
    except (KeyError, TypeError, ValueError):
        return None


def tree_view(change: ChangeSet, repo: Path) -> TreeView:
    """The repository's modules at the commit, read on demand (the change set's texts first;
    ``pkg.mod`` is ``pkg/mod.py`` or ``pkg/mod/__init__.py``, also under ``src/``)."""
    changed = {
        module_name(f.path): (f.path, f.new_text)
        for f in change.python_files()
        if f.new_text is not None and f.status is not FileStatus.DELETED
    }

    def text_of(name: str) -> tuple[str, str] | None:
        if name in changed:
            return changed[name]
        base = name.replace(".", "/")
        candidates = [f"{r}{base}{tail}" for r in ("", "src/") for tail in (".py", "/__init__.py")]
        try:
            texts = read_texts(repo, change.commit, candidates)
        except (OSError, subprocess.SubprocessError, ValueError):
            return None
        return next(((path, texts[path]) for path in candidates if path in texts), None)

    return TreeView(text_of, changed)
