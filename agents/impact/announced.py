"""API changes the commit's own changelog announces: known to the maintainers, one task per kind.

A commit that edits a changelog (``CHANGES``, ``CHANGELOG``, ``HISTORY``, ``NEWS``,
``RELEASE_NOTES`` with any suffix, a news fragment under ``changes/``, ``changelog.d/``,
``newsfragments/``, or release notes under ``releases/`` or ``whatsnew/``) and names an object there (as a whole word in an added line) has told its
users about that object's removal, signature change or deprecation. Those findings are still
reported, for the record, but at low severity and merged into one finding per rule that lists
them, so they never bury the changes nobody announced. A deprecation warning without
``stacklevel`` (IMP106) is never merged: the announcement does not fix the blamed line.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from controlroom.core.model import ChangeSet, FileChange, FileStatus, Finding, Severity

NOTE_NAMES = re.compile(r"^(changes|changelog|history|news|release[-_]?notes)\b", re.IGNORECASE)
NOTE_DIRS = {
    "changes", "changelog.d", "newsfragments", "news", "changelog",
    "releases", "release-notes", "release_notes", "whatsnew",  # docs/releases/5.1.txt (Django)
    "release",  # doc/release/release_3.4.rst (networkx), doc/source/release/ (NumPy, SciPy)
}  # fmt: skip
MERGED_RULES = ("IMP101", "IMP102", "IMP103", "IMP104", "IMP105")
KIND_WORDS = {
    "IMP101": "removals",
    "IMP102": "signature changes",
    "IMP103": "default changes",
    "IMP104": "API changes",
    "IMP105": "deprecations",
}


def is_changelog(path: str) -> bool:
    pure = PurePosixPath(path)
    if pure.suffix == ".py":
        return False
    return bool(NOTE_NAMES.match(pure.name)) or bool(NOTE_DIRS & set(pure.parts[:-1]))


def _added_text(f: FileChange) -> str:
    lines = (f.new_text or "").splitlines()
    if f.status is FileStatus.ADDED:
        return "\n".join(lines)
    return "\n".join(line for i, line in enumerate(lines, 1) if f.touches(i))


def release_notes(change: ChangeSet) -> tuple[str, str]:
    """(the changelog files' names, the text the commit added to them)."""
    notes = [f for f in change.files if f.status is not FileStatus.DELETED and is_changelog(f.path)]
    return ", ".join(f.path for f in notes), "\n".join(_added_text(f) for f in notes)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


def _parameters(api: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for change in [api, *(api.get("changes") or [])]:
        for key in ("old", "new"):
            value = str(change.get(key) or "")
            out |= {p.split("=")[0].strip("*[] ") for p in value.split(",") if p.strip()}
    return {p for p in out if p.isidentifier()}


def parameter_announced(parameter: str, lines: list[str]) -> bool:
    """A notes line that says "deprecat..." and quotes the parameter as code (Markdown or reST
    backticks): "The `app=...` shortcut has been deprecated" names no callable, but no reader
    doubts which parameter it means."""
    quoted = re.compile(rf"`{re.escape(parameter)}\b[^`]*`")
    return any("deprecat" in line.lower() and quoted.search(line) for line in lines)


def owner_deprecated(owner: str, lines: list[str]) -> bool:
    """A notes line that says "deprecat..." and names ``owner`` as a whole word."""
    word = re.compile(rf"\b{re.escape(owner)}\b")
    return any("deprecat" in line.lower() and word.search(line) for line in lines)


def named(f: Finding, words: set[str], lines: list[str] | None = None) -> bool:
    """Whether the notes' words name what ``f`` is about."""
    api = f.extra.get("api") or {}
    parts = (f.symbol or "").split(".")
    owner = [p for p in parts if not (p.startswith("__") and p.endswith("__"))]
    deprecated = api.get("deprecated") or api.get("removed")
    listed = [deprecated] if isinstance(deprecated, str) else list(deprecated or [])
    if listed:
        return any(n in words for n in listed)
    parameter = api.get("parameter")
    if isinstance(parameter, str) and parameter not in words:
        # "Deprecate passing a dict to the `Examples` class": a deprecation line naming the
        # callable or its class announces the deprecation of one of its parameters.
        return f.rule == "IMP105" and bool(owner) and owner_deprecated(owner[-1], lines or [])
    if (
        f.rule == "IMP105"
        and isinstance(parameter, str)
        and parameter_announced(parameter, lines or [])
    ):
        return True
    if not owner and parts and parts[-1] in words:  # __version__ itself
        return True
    if not owner or owner[-1] not in words:
        return False
    if f.rule == "IMP102":  # the callable and one of its changed parameters
        return bool(_parameters(api) & words)
    return True


def gather(change: ChangeSet, findings: list[Finding]) -> list[Finding]:
    """``findings`` with the announced API findings merged, one low finding per rule."""
    where, added = release_notes(change)
    if not added:
        return findings
    words, lines = _words(added), added.splitlines()
    announced: dict[str, list[Finding]] = {}
    out: list[Finding] = []
    for f in findings:
        if f.rule in MERGED_RULES and named(f, words, lines):
            announced.setdefault(f.rule, []).append(f)
        else:
            out.append(f)
    for rule, items in announced.items():
        out.append(_merged(rule, items, where))
    return out


def _merged(rule: str, items: list[Finding], where: str) -> Finding:
    first = items[0]
    listed = "; ".join(f"{f.message.split('; was at ')[0]}" for f in items)
    message = (
        f"{len(items)} {KIND_WORDS[rule]} announced in {where}: {listed}"
        if len(items) > 1
        else f"announced in {where}: {listed}"
    )
    return Finding(
        agent=first.agent,
        rule=rule,
        severity=Severity.LOW,
        path=first.path,
        line=first.line,
        message=message,
        symbol=first.symbol,
        snippet=first.snippet,
        confidence=first.confidence,
        extra={
            **first.extra,
            "announced_in": where,
            "announced": [f"{f.path}:{f.line} {f.symbol or ''}".strip() for f in items],
        },
        detector=first.detector,
    )
