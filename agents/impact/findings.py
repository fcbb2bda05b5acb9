"""The impact agent's findings: their common form, an API break as a finding, and a finding's
blast radius (importers and call sites of its symbol)."""

from __future__ import annotations

import re
from typing import Any

from controlroom.agents.impact import api as impact_api
from controlroom.agents.impact.blast import ImportGraph
from controlroom.core.model import FileChange, Finding, Severity

# API diff (IMP1xx) and migrations (IMP2xx) describe the change itself: a later commit's diff cannot
# see them again, so their tasks are never resolved by absence (core/resolution.is_about_change).
ABOUT_CHANGE_PREFIXES = ("IMP1", "IMP2")


def impact_finding(
    rule: str,
    severity: Severity,
    path: str,
    line: int,
    message: str,
    symbol: str | None,
    snippet: str,
    confidence: float,
    **extra: Any,
) -> Finding:
    return Finding(
        agent="impact",
        rule=rule,
        severity=severity,
        path=path,
        line=line,
        message=message,
        symbol=symbol,
        snippet=snippet.strip(),
        confidence=confidence,
        extra={**extra, "about_change": True} if rule.startswith(ABOUT_CHANGE_PREFIXES) else extra,
    )


def api_finding(
    f: FileChange, b: impact_api.ApiBreak, new_text: str | None, parent: str | None = None
) -> Finding:
    """An API break as a finding. An object that is gone points at its place in the parent
    (path and line as of the parent commit), and the message says so (a deleted module: its
    path, line 1)."""
    in_parent = b.in_parent or new_text is None
    source = (f.old_text if in_parent else new_text) or ""
    lines = source.splitlines()
    path = (f.old_path or f.path) if in_parent else f.path
    snippet = lines[b.line - 1] if 0 < b.line <= len(lines) else ""
    message = b.message
    extra: dict[str, Any] = {}
    if in_parent:
        if b.symbol != "<module>":  # a deleted module's path is its own location
            where = f"{path}:{b.line}" + (f" in {parent[:7]}" if parent else "")
            message = f"{message}; was at {where}"
        extra = {"location": "parent", "location_commit": parent}
    return impact_finding(
        b.rule, b.severity, path, b.line, message,
        None if b.symbol == "<module>" else b.symbol, snippet, 0.9,
        api=b.details, object_path=b.object_path, old_line=b.old_line, **extra,
    )  # fmt: skip


def finding_blast(
    finding: Finding, blast: dict[str, dict[str, Any]], graph: ImportGraph
) -> dict[str, Any] | None:
    radius = blast.get(finding.path)
    if radius is None:
        return None
    out = {k: v for k, v in radius.items() if k != "symbols"}
    if finding.symbol:
        sites = graph.call_sites(radius["module"], finding.symbol)
        out["symbol_call_sites"] = len(sites)
        out["callers"] = [f"{p}:{n}" for p, n in sites[:5]]
    return out


def fold_same_method_changes(findings: list[Finding]) -> list[Finding]:
    """One finding for one signature change made to a method and its overrides (``get_metavar``
    gaining ``ctx`` in a base class and five subclasses): the first, naming the others."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    out: list[Finding] = []
    for f in findings:
        change = f.message.partition(": ")[2]
        if f.rule != "IMP102" or not f.symbol or "." not in f.symbol or not change:
            out.append(f)
            continue
        key = (f.symbol.rpartition(".")[2], change)
        if key not in groups:
            out.append(f)
        groups.setdefault(key, []).append(f)
    for items in groups.values():
        if len(items) > 1:
            first, rest = items[0], items[1:]
            names = ", ".join(f"{f.extra.get('object_path', f.symbol)}" for f in rest)
            first.message += f" (the same change in {len(rest)} more: {names})"
            first.extra["also"] = [f"{f.path}:{f.line}" for f in rest]
    return out


ALIKE_RULES = ("IMP101", "IMP102", "IMP103", "IMP104")
ALIKE_MIN = 3  # this many names of one module changed the same way are one finding


def fold_alike_in_module(findings: list[Finding], minimum: int = ALIKE_MIN) -> list[Finding]:
    """One finding for one API change made to many names of a module (17 URL types of a
    ``networks`` module each turned from an alias into a class): the first by line, naming the
    others, at the highest of their severities. One decision, one fix for the lot."""
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    for f in findings:
        change = f.message.partition(": ")[2]
        if f.rule in ALIKE_RULES and change:
            groups.setdefault((f.rule, f.path, change), []).append(f)
    folded: dict[int, list[Finding]] = {}
    for items in groups.values():
        if len(items) >= minimum:
            items.sort(key=lambda f: (f.line, f.symbol or ""))
            folded[id(items[0])] = items
    gone = {id(f) for items in folded.values() for f in items[1:]}
    out: list[Finding] = []
    for f in findings:
        if id(f) in gone:
            continue
        alike = folded.get(id(f))
        if alike:
            rest = alike[1:]
            names = ", ".join(str(g.symbol or g.extra.get("object_path", "?")) for g in rest)
            head, _, change = f.message.partition(": ")
            f.message = f"{head} and {len(rest)} more names of this module: {change} ({names})"
            f.severity = max((g.severity for g in alike), key=lambda s: s.rank)
            f.extra["also"] = [f"{g.path}:{g.line} {g.symbol or ''}".strip() for g in rest]
        out.append(f)
    return out


CONSTRUCTORS = ("__init__", "__new__")


def removed_constructors(files: list[FileChange], findings: list[Finding]) -> None:
    """A class's own ``__init__``/``__new__`` removed while the class stays is a change of how
    the class is built, not a removed name (Django 5.1's ``LocaleRegexDescriptor(attr)``): IMP102,
    high, saying what the constructor took (in place)."""
    texts = {(f.old_path or f.path): f.new_text for f in files}
    for f in findings:
        parts = (f.symbol or "").split(".")
        if f.rule != "IMP101" or len(parts) < 2 or parts[-1] not in CONSTRUCTORS:
            continue
        new_text = texts.get(f.path)
        if not new_text or not re.search(rf"^\s*class\s+{re.escape(parts[-2])}\b", new_text, re.M):
            continue  # the class went too: its own removal finding says so
        _, sep, where = f.message.partition("; was at ")
        took = (f.snippet or "").strip().removesuffix(":")
        f.rule = "IMP102"
        f.severity = Severity.HIGH
        f.message = (
            f"{f.extra.get('object_path') or f.symbol}: the class's own constructor was removed: "
            f"it is now built as its base is ({took or parts[-1]} is gone){sep}{where}"
        )
