"""The ``docs`` agent: docstring coverage of the changed modules and docstring findings with fixes.

Rules (severity in brackets, see docs/agents-docs-impact.md):
DOC100 public function/class without a docstring [low], with a docstring drafted from the code in
the project's convention (not raised for an override of a documented base method);
DOC101 public module without a docstring [low]; DOC102 documented parameter that does not exist
[medium]; DOC103 parameter not documented [low]; DOC104 no Returns section for a function that
returns a value [low]; DOC105 raised exception not documented [low].

"Changed" means changed in meaning (``core.semantic``): a def whose AST is the same once
annotations, docstrings and formatting are set aside raises nothing. Every draft is applied to the
source and parsed before it is offered; drafts that do not parse are dropped and counted.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar

from controlroom.agents.docs import convention as docs_convention
from controlroom.agents.docs import docgen
from controlroom.agents.docs.overrides import BaseResolver
from controlroom.agents.docs.scan import (
    SEVERITY,
    FileJob,
    parses,
    scan_file,
    scan_files,
    source_lines,
)
from controlroom.core.model import (
    AgentContext,
    AgentOutput,
    ChangeSet,
    FileStatus,
    Finding,
    Task,
)
from controlroom.core.queue import FindingRecord
from controlroom.core.settings import table
from controlroom.core.testpaths import is_test_path
from controlroom.core.toolkit.parsing import map_batches
from controlroom.core.toolkit.shared_scan import FileScan, shared_scan, shared_scan_applies

if TYPE_CHECKING:
    from controlroom.core.apply import FixOutcome  # apply() returns one; made in the fix module


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Coverage metrics over scanned modules."""
    public = sum(r["public"] for r in results)
    documented = sum(r["documented"] for r in results)
    per_module = {
        r["path"]: {
            "public": r["public"],
            "documented": r["documented"],
            "coverage": round(100.0 * r["documented"] / r["public"], 1) if r["public"] else 100.0,
        }
        for r in results
        if "error" not in r
    }
    return {
        "doc_coverage": round(100.0 * documented / public, 1) if public else 100.0,
        "documented": documented,
        "public": public,
        "modules": len(per_module),
        "per_module": per_module,
        "overrides_skipped": sum(r.get("overrides", 0) for r in results),
        "drafts_dropped": sum(r.get("drafts_dropped", 0) for r in results),
    }


def build_jobs(change: ChangeSet, analyze_all: bool, config: dict[str, Any]) -> list[FileJob]:
    """The modules of ``change`` to scan, with the lines that count as changed."""
    config = table("docs", config)
    generate = bool(config["generate"])
    include_tests = bool(config["include_tests"])
    style = docs_convention.configured(config, change) if generate else ""
    return [
        FileJob(
            path=f.path,
            source=f.new_text or "",
            ranges=None
            if analyze_all or f.status is FileStatus.ADDED
            else tuple((r.start, r.end) for r in f.changed_lines),
            added=f.status is FileStatus.ADDED,
            generate=generate,
            old_source=None if f.status is FileStatus.ADDED else f.old_text,
            style=style,
        )
        for f in change.python_files()
        if not _excluded(f.path, config["exclude"]) and (include_tests or not is_test_path(f.path))
    ]


def _jobs_from_settings(
    change: ChangeSet, analyze_all: bool, settings: dict[str, Any]
) -> list[FileJob]:

    section = settings.get("docs")
    return build_jobs(change, analyze_all, section if isinstance(section, dict) else {})


class DocWriterAgent:
    """Docstring coverage and completeness of changed modules, with generated Google docstrings."""

    name: ClassVar[str] = "docs"
    file_scan: ClassVar[FileScan] = FileScan("docs", _jobs_from_settings, scan_file)
    fixes_groups: ClassVar[bool] = True  # apply_fix applies every draft of a grouped task

    async def apply_fix(
        self, task: Task, findings: list[FindingRecord], tree: Path, config: dict[str, Any]
    ) -> FixOutcome | None:
        """Carry out an approved task in the worktree ``tree``: the drafted docstring, applied and re-parsed."""
        from controlroom.agents.docs.fix import apply_docstring

        return await apply_docstring(task, findings, tree, config)

    async def analyze(self, change: ChangeSet, ctx: AgentContext) -> AgentOutput:
        started = time.perf_counter()
        config = table("docs", ctx.config)
        confidence = float(config["confidence"])
        if bool(config["generate"]):  # detect the convention off the event loop
            await asyncio.to_thread(docs_convention.configured, config, change)
        if shared_scan_applies(change, self.file_scan):
            results = await shared_scan(change, ctx, self.file_scan)
        else:
            jobs = build_jobs(change, ctx.analyze_all, config)
            results = await map_batches(scan_files, jobs, [len(j.source) for j in jobs])
        results.sort(key=lambda r: r["path"])
        findings = [_finding(r["path"], d, confidence) for r in results for d in r["findings"]]
        metrics = summarize(results)
        inherited = await asyncio.to_thread(_inherited_overrides, findings, change)
        if inherited:
            findings = [f for f in findings if id(f) not in inherited]
            metrics["overrides_skipped"] += len(inherited)
        metrics["seconds"] = round(time.perf_counter() - started, 3)
        notes = [f"{r['path']}: not parsed ({r['error']})" for r in results if "error" in r]
        limit = int(config["assistant_max"])
        # Where a summary could not be drawn from the code: kept for the assistant, never output.
        unsummarised = {id(f): f.extra.pop("_draft") for f in findings if "_draft" in f.extra}
        assistant = ctx.assistant("docs")
        if assistant is not None:
            from controlroom.agents.docs import claude

            claude.keep_offline(ctx, findings, metrics, notes)
        asked = await _assistant_summaries(findings, assistant, change, limit, unsummarised)
        if asked:
            metrics["assistant_summaries"] = asked
            from controlroom.agents.docs import claude

            claude.record_outcome(assistant, metrics, notes, "docstring summaries")
        return AgentOutput(findings=findings, metrics=metrics, notes=notes)


async def _assistant_summaries(
    findings: list[Finding],
    assistant: Any,
    change: ChangeSet,
    limit: int,
    unsummarised: dict[int, dict[str, Any]] | None = None,
) -> int:
    """[llm]: let the assistant write the summary line of up to ``limit`` generated docstrings.

    Offline ``assistant`` is None and nothing changes. The sections still come from the code; the
    summary line is swapped in both ``extra["docstring"]`` and the diff, so the fix still applies.
    Where the code offered no summary (``unsummarised``: id of the finding -> where the draft
    goes and its sections), the assistant's summary completes a draft, which must parse.
    Returns how many summaries were asked for.
    """
    if assistant is None or limit <= 0:
        return 0
    from controlroom.agents.docs import claude

    texts = {f.path: f.new_text or "" for f in change.files}
    asked = 0
    for finding in findings:
        body = finding.extra.get("docstring")
        pending = (unsummarised or {}).get(id(finding))
        if finding.rule != "DOC100" or not ((body and finding.suggested_fix) or pending):
            continue
        if asked >= limit:
            break
        asked += 1
        summary = await claude.summarize_docstring(
            assistant,
            qualname=finding.symbol or "",
            path=finding.path,
            source=_definition_source(texts, finding),
        )
        name = (finding.symbol or "").rsplit(".", 1)[-1]
        if (
            not summary
            or '"""' in summary
            or "\\" in summary
            or docgen.restates_name(summary, name)
        ):
            continue
        if pending is not None:
            _complete_draft(finding, summary, pending, texts.get(finding.path, ""))
            continue
        assert body and finding.suggested_fix  # checked above (no pending draft)
        old = body.split("\n", 1)[0]
        finding.extra["docstring"] = summary + body[len(old) :]
        finding.extra["summary_source"] = "assistant"
        finding.suggested_fix = finding.suggested_fix.replace(f'"""{old}', f'"""{summary}', 1)
    return asked


def _complete_draft(finding: Finding, summary: str, pending: dict[str, Any], source: str) -> None:
    """Turn the assistant's ``summary`` and the code's sections into an offered, parsed draft."""
    body = summary + pending["sections"]
    lines = source_lines(source)
    added = docgen.quoted(body, pending["indent"])
    if not parses(docgen.with_insertion(lines, pending["at"], added)):
        return
    finding.extra.pop("no_fix_reason", None)
    finding.extra.update(docstring=body, summary_source="assistant")
    finding.suggested_fix = docgen.insertion_diff(finding.path, lines, pending["at"], added)


def _inherited_overrides(findings: list[Finding], change: ChangeSet) -> set[int]:
    """ids of DOC100 findings on methods whose imported base class documents the method."""
    candidates = [f for f in findings if f.rule == "DOC100" and f.extra.get("base_refs")]
    if not candidates:
        return set()
    from controlroom.core.toolkit.tree import list_tree, read_blobs

    texts: dict[str, str | None] = {
        f.path: f.new_text for f in change.files if f.new_text is not None
    }
    try:
        blobs = list_tree(change.repo_path, change.commit).blobs
    except RuntimeError:
        blobs = {}

    def read(path: str) -> str | None:
        if path not in texts and path in blobs:
            texts[path] = read_blobs(change.repo_path, [blobs[path]]).get(blobs[path])
        return texts.get(path)

    resolver = BaseResolver(read, set(blobs) | set(texts))
    found = set()
    for finding in candidates:
        method = (finding.symbol or "").rsplit(".", 1)[-1]
        refs = finding.extra.pop("base_refs")
        if any(resolver.documented(tuple(ref), method) for ref in refs):
            found.add(id(finding))
    return found


def _definition_source(texts: dict[str, str], finding: Finding) -> str:
    lines = texts.get(finding.path, "").splitlines()
    return "\n".join(lines[finding.line - 1 : finding.line + 40])


def _excluded(path: str, patterns: list[str]) -> bool:
    pure = PurePosixPath(path)
    return any(pure.match(p) for p in patterns)


def _finding(path: str, data: dict[str, Any], confidence: float) -> Finding:
    return Finding(
        agent="docs",
        rule=data["rule"],
        severity=SEVERITY[data["rule"]],
        path=path,
        line=data["line"],
        message=data["message"],
        symbol=data["symbol"],
        snippet=data["snippet"],
        suggested_fix=data["suggested_fix"],
        confidence=confidence,
        end_line=data.get("end_line"),
        extra=data["extra"],
    )
