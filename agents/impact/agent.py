"""The ``impact`` agent: what a commit may break beyond its own lines.

API breaking changes (griffe), database migrations, performance risks, and the blast radius of the
changed modules through the repository's reverse import graph. Severity rules are documented in
docs/agents-docs-impact.md.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any, ClassVar

from controlroom.agents.impact import migrations as impact_migrations
from controlroom.agents.impact.apidiff import compare_change, tree_view
from controlroom.agents.impact.blast import (
    GRAPH_KEY,
    ImportGraph,
    changed_python_paths,
    changed_symbols,
    python_paths,
    read_texts,
)
from controlroom.agents.impact.findings import (
    finding_blast,
    impact_finding,
)
from controlroom.agents.impact.scan import ScanJob, scan, scan_many
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
from controlroom.core.toolkit.parsing import map_batches
from controlroom.core.toolkit.shared_scan import FileScan, shared_scan, shared_scan_applies

PERF_SEVERITY = {"CR001": Severity.MEDIUM, "IMP301": Severity.MEDIUM, "IMP302": Severity.HIGH}
DEPRECATION_RULES = {"IMP105", "IMP106"}


def _ranges(f: FileChange, whole: bool) -> tuple[tuple[int, int], ...] | None:
    if whole or f.status is FileStatus.ADDED:
        return None
    return tuple((r.start, r.end) for r in f.changed_lines)


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
        api = asyncio.create_task(compare_change(change, ctx.cache, config, notes, view))
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
        if shared_scan_applies(change, self.file_scan):
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
