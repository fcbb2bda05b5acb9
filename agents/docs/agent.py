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

import ast
import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from controlroom.agents.docs import convention as docs_convention
from controlroom.agents.docs import docgen
from controlroom.agents.docs.overrides import BaseResolver, check_in_module
from controlroom.agents.docs.styles import parse_docstring
from controlroom.core.apply import FixOutcome
from controlroom.core.model import (
    AgentContext,
    AgentOutput,
    ChangeSet,
    FileStatus,
    Finding,
    Severity,
    Task,
)
from controlroom.core.queue import FindingRecord
from controlroom.core.semantic import changed_definitions
from controlroom.core.settings import table
from controlroom.core.testpaths import is_test_path
from controlroom.core.toolkit.parsing import map_batches, parse
from controlroom.core.toolkit.shared_scan import FileScan, shared_scan, shared_scan_applies

_SEVERITY = {
    "DOC100": Severity.LOW,
    "DOC101": Severity.LOW,
    "DOC102": Severity.MEDIUM,
    "DOC103": Severity.LOW,
    "DOC104": Severity.LOW,
    "DOC105": Severity.LOW,
}
_SKIP_DECORATORS = {"overload", "setter", "deleter"}


@dataclass(frozen=True, slots=True)
class FileJob:
    """One module to scan: the unit of work sent to a worker process."""

    path: str
    source: str
    ranges: tuple[tuple[int, int], ...] | None  # None: every object counts as changed
    added: bool
    generate: bool = True
    old_source: str | None = None  # the parent's text, for the semantic comparison
    style: str = "google"  # the project's docstring convention: google, numpy or sphinx


def is_public_module(path: str) -> bool:
    """``pkg/_impl.py`` and ``_private/x.py`` are private; ``__init__.py`` is public."""
    parts = PurePosixPath(path).with_suffix("").parts
    return not any(p.startswith("_") and p != "__init__" for p in parts)


def _is_public_name(name: str) -> bool:
    return not name.startswith("_")


def _skipped(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in _SKIP_DECORATORS:
            return True
    return False


def _is_property(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        (isinstance(d, ast.Name) and d.id in ("property", "cached_property"))
        or (isinstance(d, ast.Attribute) and d.attr in ("cached_property",))
        for d in node.decorator_list
    )


def scan_files(jobs: list[FileJob]) -> list[dict[str, Any]]:
    """Scan modules (runs in a worker process): coverage counts and finding dicts per file."""
    return [scan_file(job) for job in jobs]


def scan_file(job: FileJob, tree: ast.Module | None = None) -> dict[str, Any]:
    """Coverage and findings for one module (``tree``: the module already parsed)."""
    result: dict[str, Any] = {"path": job.path, "public": 0, "documented": 0, "findings": []}
    if tree is None:
        try:
            tree = parse(job.source, job.path)
        except (SyntaxError, ValueError):
            result["error"] = "syntax error"
            return result
    lines = job.source.splitlines()
    semantic = None
    if job.ranges is not None and job.old_source is not None:
        semantic = changed_definitions(job.old_source, job.source, new_tree=tree)
    scanner = _Scanner(job, lines, result, tree, semantic)
    if is_public_module(job.path):
        result["public"] += 1
        if ast.get_docstring(tree, clean=False) is not None:
            result["documented"] += 1
        elif job.added or job.ranges is None:
            scanner.add(
                "DOC101", 1, None, "public module has no docstring", lines[0] if lines else ""
            )
    scanner.walk(tree.body, owner=None)
    scanner.check_drafts()
    return result


class _Scanner:
    def __init__(
        self,
        job: FileJob,
        lines: list[str],
        result: dict[str, Any],
        tree: ast.Module,
        semantic: frozenset[str] | None,
    ) -> None:
        self.job = job
        self.lines = lines
        self._kept: list[str] | None = None
        self.result = result
        self.tree = tree
        self.semantic = semantic  # qualified names changed in meaning; None: lines decide
        self.drafts: list[tuple[dict[str, Any], int, list[str]]] = []
        result["overrides"] = result["drafts_dropped"] = 0

    def add(
        self, rule: str, line: int, symbol: str | None, message: str, snippet: str, **extra: Any
    ) -> dict[str, Any]:
        finding = {
            "rule": rule,
            "line": line,
            "symbol": symbol,
            "message": message,
            "snippet": snippet.strip(),
            "extra": extra,
            "suggested_fix": None,
        }
        self.result["findings"].append(finding)
        return finding

    def changed(self, node: ast.AST, symbol: str) -> bool:
        if self.job.ranges is None:
            return True
        if self.semantic is not None and symbol not in self.semantic:
            return False  # only annotations, docstrings or formatting changed
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        last = getattr(node, "end_lineno", node.lineno) or node.lineno
        return any(start <= last and first <= end for start, end in self.job.ranges)

    def walk(
        self, body: list[ast.stmt], owner: str | None, owner_node: ast.ClassDef | None = None
    ) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and _is_public_name(node.name):
                symbol = f"{owner}.{node.name}" if owner else node.name
                self.visit(node, symbol, owner, kind="class")
                self.walk(node.body, owner=symbol, owner_node=node)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if not _is_public_name(node.name) or _skipped(node):
                    continue
                symbol = f"{owner}.{node.name}" if owner else node.name
                kind = "method" if owner else "function"
                self.visit(node, symbol, owner, kind=kind, owner_node=owner_node)

    def visit(
        self,
        node: Any,
        symbol: str,
        owner: str | None,
        *,
        kind: str,
        owner_node: ast.ClassDef | None = None,
    ) -> None:
        self.result["public"] += 1
        docstring = ast.get_docstring(node)
        if docstring is not None:
            self.result["documented"] += 1
        if not self.changed(node, symbol):
            return
        base_refs: list[Any] = []
        if docstring is None and owner_node is not None:
            inherited = check_in_module(self.tree, self.job.path, owner_node, node.name)
            if inherited is True:
                self.result["overrides"] += 1  # documented by the base method it overrides
                return
            base_refs = [list(ref) for ref in inherited or ()]
        snippet = self.lines[node.lineno - 1] if node.lineno <= len(self.lines) else ""
        is_function = kind != "class"
        facts = docgen.function_facts(node, is_method=owner is not None) if is_function else None
        if docstring is None:
            finding = self.missing(node, symbol, owner, kind, snippet, facts)
            if base_refs:
                finding["extra"]["base_refs"] = base_refs  # resolved by the parent process
        elif facts is not None:
            self.incomplete(node, symbol, docstring, facts, snippet)

    def missing(
        self, node: Any, symbol: str, owner: str | None, kind: str, snippet: str, facts
    ) -> dict[str, Any]:
        finding = self.add(
            "DOC100", node.lineno, symbol, f"public {kind} {symbol} has no docstring", snippet
        )
        finding["end_line"] = getattr(node, "end_lineno", None)  # examined as a whole
        if not self.job.generate:
            return finding
        owner_name = owner.rsplit(".", 1)[-1] if owner else None
        summary = docgen.summary_from_code(node, facts, owner=owner_name)
        if self._kept is None:
            self._kept = source_lines(self.job.source)
        if summary is None:
            finding["extra"]["no_fix_reason"] = "the code offers no summary beyond its name"
            plan = docgen.planned_insertion(self._kept, node, "-")
            if not isinstance(plan, str):  # an assistant may still write the summary line
                at, added = plan
                sections = docgen.draft_docstring(self.job.style, "", facts)
                indent = added[0][: added[0].index('"""')]
                finding["extra"]["_draft"] = {"at": at, "indent": indent, "sections": sections}
            return finding
        body = docgen.draft_docstring(self.job.style, summary, facts)
        finding["extra"].update(docstring=body, summary_source="code", style=self.job.style)
        plan = docgen.planned_insertion(self._kept, node, body)
        if isinstance(plan, str):
            finding["extra"]["no_fix_reason"] = plan
        else:
            self.drafts.append((finding, *plan))
        return finding

    def check_drafts(self) -> None:
        """Apply the drafts to the source and parse: offer only drafts that keep it parsing."""
        if not self.drafts or self._kept is None:
            return
        lines = self._kept
        if not _parses(_with_all(lines, [(at, added) for _, at, added in self.drafts])):
            kept = []
            for draft in self.drafts:
                if _parses(docgen.with_insertion(lines, draft[1], draft[2])):
                    kept.append(draft)
                else:
                    finding = draft[0]
                    finding["extra"].pop("docstring", None)
                    finding["extra"]["no_fix_reason"] = "the drafted docstring did not parse"
                    self.result["drafts_dropped"] += 1
            self.drafts = kept
        for finding, at, added in self.drafts:
            finding["suggested_fix"] = docgen.insertion_diff(self.job.path, lines, at, added)

    def incomplete(self, node: Any, symbol: str, docstring: str, facts, snippet: str) -> None:
        doc = parse_docstring(docstring)
        if not doc.is_structured:
            return  # a summary-only docstring is not checked for sections (darglint "short")
        names = [p.name.lstrip("*") for p in facts.params]
        has_kwargs = any(p.name.startswith("**") for p in facts.params)
        line = node.lineno
        stale = [p for p in doc.params if p not in names]
        if stale and not has_kwargs:
            self.add(
                "DOC102", line, symbol,
                f"{symbol}: documented parameter{'s' if len(stale) > 1 else ''} "
                f"{', '.join(stale)} not in the signature", snippet,
                stale=stale, style=doc.style,
            )  # fmt: skip
        plain = [p.name for p in facts.params if not p.name.startswith("*")]
        undocumented = [n for n in plain if n not in doc.params]
        if undocumented and (doc.has_params_section or doc.params or plain):
            self.add(
                "DOC103", line, symbol,
                f"{symbol}: parameter{'s' if len(undocumented) > 1 else ''} "
                f"{', '.join(undocumented)} not documented", snippet,
                undocumented=undocumented, style=doc.style,
            )  # fmt: skip
        if facts.returns_value and not doc.has_returns and not _is_property(node):
            section = "Yields" if facts.is_generator else "Returns"
            self.add(
                "DOC104", line, symbol,
                f"{symbol} returns a value but its docstring has no {section} section",
                snippet, style=doc.style,
            )  # fmt: skip
        raised = [
            name
            for name in facts.raises
            if name not in doc.raises
            and name != "NotImplementedError"  # "subclass me", not an error
        ]
        if raised:
            self.add(
                "DOC105", line, symbol,
                f"{symbol}: raised {', '.join(raised)} not documented", snippet,
                undocumented_raises=raised, style=doc.style,
            )  # fmt: skip


def source_lines(source: str) -> list[str]:
    """Lines as ``ast`` numbers them (``\\n`` and ``\\r\\n`` end a line; a form feed does not)."""
    return _LINE.findall(source)


_LINE = re.compile(r"[^\n]*\n|[^\n]+$")


def _with_all(lines: list[str], inserts: list[tuple[int, list[str]]]) -> str:
    out = list(lines)
    for at, added in sorted(inserts, key=lambda item: item[0], reverse=True):
        out = source_lines(docgen.with_insertion(out, at, added))
    return "".join(out)


def _parses(text: str) -> bool:
    try:
        parse(text, "<draft>")
    except (SyntaxError, ValueError):
        return False
    return True


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
        if shared_scan_applies(ctx, self.file_scan):
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
    if not _parses(docgen.with_insertion(lines, pending["at"], added)):
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

    texts = {f.path: f.new_text for f in change.files if f.new_text is not None}
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
        severity=_SEVERITY[data["rule"]],
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
