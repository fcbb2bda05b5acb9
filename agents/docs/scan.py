"""The doc writer's scan of one module (runs in a worker process): docstring coverage, DOC1xx
findings as dicts, and drafted docstrings that were applied to the source and parsed.

Rules and severities are listed in ``agents/docs/agent.py`` and docs/agents-docs-impact.md.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from controlroom.agents.docs import docgen
from controlroom.agents.docs.habits import Habits, module_habits
from controlroom.agents.docs.overrides import check_in_module
from controlroom.agents.docs.styles import parse_docstring
from controlroom.core.model import Severity
from controlroom.core.semantic import changed_definitions
from controlroom.core.toolkit.parsing import parse

SEVERITY = {
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
    scanner.habits = module_habits(tree)
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
        self.habits = Habits()  # which sections the module's docstrings use
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

    def changed(self, node: ast.stmt, symbol: str) -> bool:
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
            if not is_public_module(self.job.path) or (kind == "class" and owner is not None):
                return  # internal: a private module's code, a class nested in a class
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
        if not parses(_with_all(lines, [(at, added) for _, at, added in self.drafts])):
            kept = []
            for draft in self.drafts:
                if parses(docgen.with_insertion(lines, draft[1], draft[2])):
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
        if (
            facts.returns_value
            and not doc.has_returns
            and not _is_property(node)
            and self.habits.returns
        ):
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
        if raised and self.habits.raises:
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


def parses(text: str) -> bool:
    try:
        parse(text, "<draft>")
    except (SyntaxError, ValueError):
        return False
    return True
