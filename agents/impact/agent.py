"""The ``impact`` agent: what a commit may break beyond its own lines.

API breaking changes (griffe), database migrations, performance risks, and the blast radius of the
changed modules through the repository's reverse import graph. Severity rules are documented in
docs/agents-docs-impact.md.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from controlroom.agents.impact import api as impact_api
from controlroom.agents.impact import deprecations as impact_deprecations
from controlroom.agents.impact import migrations as impact_migrations
from controlroom.agents.impact.blast import (
    GRAPH_KEY,
    ImportGraph,
    changed_python_paths,
    changed_symbols,
    python_paths,
    read_texts,
)
from controlroom.agents.impact.findings import (
    api_finding,
    finding_blast,
    fold_same_method_changes,
    impact_finding,
)
from controlroom.agents.impact.resolve import TreeView
from controlroom.agents.impact.scan import ScanJob, is_test_path, module_name, scan, scan_many
from controlroom.core.blobs import max_file_bytes
from controlroom.core.model import (
    AgentCache,
    AgentContext,
    AgentOutput,
    ChangeSet,
    FileChange,
    FileStatus,
    Finding,
    Severity,
)
from controlroom.core.settings import table
from controlroom.core.toolkit.parsing import map_batches, retry_system_error
from controlroom.core.toolkit.shared_scan import FileScan, shared_scan, shared_scan_applies

PERF_SEVERITY = {"CR001": Severity.MEDIUM, "IMP301": Severity.MEDIUM, "IMP302": Severity.HIGH}
DEPRECATION_RULES = {"IMP105", "IMP106"}
API_SKIP_NAMES = {"setup", "conftest", "noxfile", "fabfile", "manage"}
API_SKIP_DIRS = {"docs", "doc", "examples", "scripts", "benchmarks"}


def _ranges(f: FileChange, whole: bool) -> tuple[tuple[int, int], ...] | None:
    if whole or f.status is FileStatus.ADDED:
        return None
    return tuple((r.start, r.end) for r in f.changed_lines)


def library_module(path: str) -> bool:
    """Whether ``path`` is a package's own code (not a test, script, example or migration)."""
    pure = PurePosixPath(path)
    if not path.endswith(".py") or is_test_path(path):
        return False
    if pure.stem in API_SKIP_NAMES or (pure.parts and pure.parts[0] in API_SKIP_DIRS):
        return False
    return not ("migrations" in pure.parts[:-1] or "versions" in pure.parts[:-1])


def api_module(path: str) -> bool:
    """Whether ``path`` is part of a package's public API (library code, no private part)."""
    parts = PurePosixPath(path).with_suffix("").parts
    return library_module(path) and not any(p.startswith("_") and p != "__init__" for p in parts)


def build_jobs(change: ChangeSet, analyze_all: bool) -> list[ScanJob]:
    """Changed Python files, scanned deep (performance and migration checks too)."""
    return [
        ScanJob(f.path, f.new_text or "", deep=True, ranges=_ranges(f, analyze_all))
        for f in change.python_files()
    ]


def _jobs_from_settings(
    change: ChangeSet, analyze_all: bool, settings: dict[str, Any]
) -> list[ScanJob]:
    return build_jobs(change, analyze_all)


class ImpactAgent:
    """Consequence awareness: API breaks, migrations, performance risk, blast radius."""

    name: ClassVar[str] = "impact"
    file_scan: ClassVar[FileScan] = FileScan("impact", _jobs_from_settings, scan)

    async def analyze(self, change: ChangeSet, ctx: AgentContext) -> AgentOutput:
        started = time.perf_counter()
        config = ctx.config or {}
        repo = Path(change.repo_path or ctx.repo_path)
        files = {f.path: f for f in change.python_files()}
        notes: list[str] = []
        # The API comparison (threads of this process) needs neither the scan nor the graph: it
        # runs while the scan parses in the worker processes.
        view = tree_view(change, repo)
        api = asyncio.create_task(self._api(change, ctx.cache, config, notes, view))
        try:
            records, graph, graph_info = await self._scan_and_graph(change, ctx, repo)
        except BaseException:
            api.cancel()
            await asyncio.gather(api, return_exceptions=True)
            raise
        breaks, api_stats = await api

        findings: list[Finding] = []
        findings += breaks
        migrations = self._migrations(change, records)
        findings += migrations
        findings += self._perf(records, float(table("impact", config)["perf_confidence"]))

        removed: dict[str, list[str]] = {}
        for finding in breaks:
            if finding.rule == "IMP101" and finding.symbol and finding.symbol != "<module>":
                removed.setdefault(finding.path, []).append(finding.symbol)
        blast: dict[str, dict[str, Any]] = {}
        for path, record in records.items():
            if "error" in record:
                continue
            symbols = changed_symbols(record, _ranges(files[path], ctx.analyze_all))
            blast[path] = graph.blast(record["module"], [*symbols, *removed.get(path, [])])
        prediction = await _prediction(change, ctx, notes)
        for finding in findings:
            finding.extra["blast_radius"] = finding_blast(finding, blast, graph)
            if prediction is not None:
                finding.extra["prediction"] = prediction

        llm: dict[str, Any] = {}  # what the Claude step did ("llm"), if it ran
        summary = await _assistant_summary(change, ctx, findings, blast, graph, llm, notes)
        metrics = {
            "blast_radius": {
                p: {k: v for k, v in b.items() if k != "symbols"} for p, b in blast.items()
            },
            "api_breaks": sum(1 for f in breaks if f.rule not in DEPRECATION_RULES),
            "deprecations": sum(1 for f in breaks if f.rule == "IMP105"),
            "migrations": sum(1 for f in migrations if f.rule == "IMP201"),
            "destructive_migrations": sum(1 for f in migrations if f.rule == "IMP202"),
            "perf_risks": sum(1 for f in findings if f.rule in PERF_SEVERITY),
            "graph": graph_info,
            "prediction": prediction,
            **({"assistant_summary": summary} if summary else {}),
            **llm,
            "api": api_stats,
            "seconds": round(time.perf_counter() - started, 3),
        }
        notes += [f"{p}: not parsed ({r['error']})" for p, r in records.items() if "error" in r]
        return AgentOutput(findings=findings, metrics=metrics, notes=notes)

    async def _scan_and_graph(
        self, change: ChangeSet, ctx: AgentContext, repo: Path
    ) -> tuple[dict[str, dict[str, Any]], ImportGraph, dict[str, Any]]:
        if shared_scan_applies(ctx, self.file_scan):
            scanned = await shared_scan(change, ctx, self.file_scan)
        else:
            jobs = build_jobs(change, ctx.analyze_all)
            scanned = await map_batches(scan_many, jobs, [len(j.source) for j in jobs])
        records = {rec["path"]: rec for rec in scanned}
        graph, graph_info = await self._graph(
            change, ctx.cache, repo, records, max_file_bytes(ctx.settings)
        )
        return records, graph, graph_info

    # -- import graph ----------------------------------------------------------------------------
    async def _graph(
        self,
        change: ChangeSet,
        cache: AgentCache | None,
        repo: Path,
        records: dict[str, dict[str, Any]],
        max_bytes: int | None = None,
    ) -> tuple[ImportGraph, dict[str, Any]]:
        cached = ImportGraph.from_cache(await cache.get(GRAPH_KEY)) if cache else None
        deleted = [
            f.old_path or f.path
            for f in change.files
            if f.status is FileStatus.DELETED
            or (f.status is FileStatus.RENAMED and f.old_path and f.old_path != f.path)
        ]
        mode = "incremental"
        if cached is not None and cached.commit == change.commit:
            graph, mode = cached, "cached"
            graph.update(records, [], change.commit)
        elif cached is not None and change.parent and cached.commit == change.parent:
            graph = cached
            graph.update(records, deleted, change.commit)
        else:
            graph, mode = await self._rebuild(change, repo, records, cached, max_bytes)
        parsed = len(records) + graph.extra_parsed
        if cache is not None and mode != "cached":
            await cache.put(GRAPH_KEY, graph.to_cache())
        info = {"modules": len(graph.files), "mode": mode, "parsed": parsed}
        return graph, info

    async def _rebuild(
        self,
        change: ChangeSet,
        repo: Path,
        records: dict[str, dict[str, Any]],
        cached: ImportGraph | None,
        max_bytes: int | None = None,
    ) -> tuple[ImportGraph, str]:
        """From another cached commit (git diff) or from scratch (the whole tree)."""
        try:
            if cached is not None and cached.commit:
                changed, gone = await asyncio.to_thread(
                    changed_python_paths, repo, cached.commit, change.commit
                )
                graph, mode = cached, "diff"
            else:
                changed = await asyncio.to_thread(python_paths, repo, change.commit)
                gone, graph, mode = [], ImportGraph({}), "full"
        except (OSError, subprocess.SubprocessError, ValueError) as exc:  # git failed
            if cached is None:
                graph = ImportGraph({})
                graph.update(records, [], change.commit)
                return graph, f"partial ({type(exc).__name__})"
            return await self._rebuild(change, repo, records, None, max_bytes)
        missing = [p for p in changed if p not in records]
        texts = await asyncio.to_thread(read_texts, repo, change.commit, missing, max_bytes)
        jobs = [ScanJob(p, t) for p, t in texts.items()]
        extra = await map_batches(scan_many, jobs, [len(j.source) for j in jobs])
        fresh = {rec["path"]: rec for rec in extra}
        graph.update({**fresh, **records}, gone, change.commit)
        graph.extra_parsed = len(fresh)
        return graph, mode

    # -- API ---------------------------------------------------------------------------------------
    async def _api(
        self,
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
        for f in pairs:
            old_path = f.old_path or f.path
            module = module_name(old_path)
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
        findings += await asyncio.to_thread(self._private_deprecations, change, pairs, view)
        return fold_same_method_changes(findings), {"compared": len(pairs), "cached": api_hits}

    def _private_deprecations(
        self, change: ChangeSet, compared: list[FileChange], view: TreeView
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

    # -- migrations --------------------------------------------------------------------------------
    def _migrations(self, change: ChangeSet, records: dict[str, dict[str, Any]]) -> list[Finding]:
        out: list[Finding] = []
        for f in change.files:
            if f.status is FileStatus.DELETED or f.new_text is None:
                continue
            if not impact_migrations.is_migration_path(f.path, f.new_text):
                continue
            if f.path.endswith(".sql"):
                ops = impact_migrations.sql_ops(f.path, f.new_text)
            else:
                ops = records.get(f.path, {}).get("migration") or {"framework": None, "ops": []}
            lines = f.new_text.splitlines()
            first = lines[0] if lines else ""
            if f.status is FileStatus.ADDED:
                out.append(
                    impact_finding(
                        "IMP201", Severity.LOW, f.path, 1, "new migration "
                        f"({ops.get('framework') or 'sql'}, {len(ops['ops'])} notable operations)",
                        None, first, 0.9, framework=ops.get("framework"),
                    )
                )  # fmt: skip
            for op in ops["ops"]:
                if f.status is not FileStatus.ADDED and not f.touches(op["line"]):
                    continue
                snippet = lines[op["line"] - 1] if op["line"] <= len(lines) else ""
                if op["destructive"]:
                    rule, severity, confidence = "IMP202", Severity.CRITICAL, 0.9
                else:
                    rule, confidence = "IMP203", 0.7
                    severity = impact_migrations.risky_severity(op["op"])
                out.append(
                    impact_finding(
                        rule, severity, f.path, op["line"],
                        f"migration {op['op']}: {op['why']}", None, snippet, confidence,
                        operation=op["op"], framework=ops.get("framework"),
                    )
                )  # fmt: skip
        return out

    # -- performance -------------------------------------------------------------------------------
    def _perf(self, records: dict[str, dict[str, Any]], confidence: float) -> list[Finding]:
        out = []
        for path, record in records.items():
            for item in record.get("perf", ()):
                out.append(
                    impact_finding(
                        item["rule"], PERF_SEVERITY[item["rule"]], path, item["line"],
                        item["message"], item["symbol"], item["snippet"], confidence,
                        **item.get("extra", {}),
                    )
                )  # fmt: skip
                if item.get("detector"):  # a shared check (N+1): one vote with the critic's
                    out[-1].detector = item["detector"]
        return out


async def _assistant_summary(
    change: ChangeSet,
    ctx: AgentContext,
    findings: list[Finding],
    blast: dict[str, dict[str, Any]],
    graph: ImportGraph,
    llm: dict[str, Any],
    notes: list[str],
) -> dict[str, str] | None:
    """[llm]: Claude's account of the consequences, only for commits with a critical or high
    finding (offline or below that: None). What the call did goes to ``llm`` and ``notes``."""
    serious = [f for f in findings if f.severity.rank >= Severity.HIGH.rank]
    if not serious:
        return None
    assistant = ctx.assistant("impact")
    if assistant is None:
        return None
    from controlroom.agents.impact import claude

    claude.keep_offline(ctx, findings, {}, notes)
    serious.sort(key=lambda f: (-f.severity.rank, f.path, f.line))
    changes = [f"{f.severity.value}: {f.message} ({f.path}:{f.line})" for f in serious]
    dependents = []
    for radius in sorted(blast.values(), key=lambda r: -r["transitive"]):
        direct, _ = graph.importers(radius["module"])
        if direct:
            dependents.append(
                f"{radius['module']} is imported by {', '.join(sorted(direct)[:10])} "
                f"({radius['transitive']} modules transitively, {radius['tests']} test modules)"
            )
    summary = await claude.impact_summary(
        assistant,
        change,
        changes=changes,
        dependents=dependents,
        critical=any(f.severity is Severity.CRITICAL for f in serious),
    )
    claude.record_outcome(assistant, llm, notes, "impact summary")
    return summary


async def _prediction(
    change: ChangeSet, ctx: AgentContext, notes: list[str]
) -> dict[str, Any] | None:
    """The live correlator's prediction for the changed files (None: no history, or no store).

    The store is reached through the store-backed agent cache (``StoreAgentCache.store``).
    """
    store = getattr(ctx.cache, "store", None)
    if store is None:
        return None
    try:
        from controlroom.core.correlator import predict_impact
    except ImportError:  # the correlator is not installed
        return None
    table = ctx.settings.get("correlator")
    try:
        predicted = await predict_impact(
            store, [f.path for f in change.files], table if isinstance(table, dict) else {}
        )
    except Exception as exc:  # a prediction is a bonus: never fail the agent for it
        notes.append(f"no impact prediction: {type(exc).__name__}: {exc}")
        return None
    return None if predicted is None else predicted.to_dict()


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
    if new_text is not None:
        added = impact_deprecations.added(old_text, new_text, f.touches, judge)
        shimmed: list[str] = []
        if any(d.qualname == "__getattr__" for d in added):
            covered = set()
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

    return TreeView(text_of)
