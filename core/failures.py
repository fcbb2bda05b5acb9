"""A failed fix's text turned into a pattern the knowledge base can count and retrieve.

Patterns: ``import-error`` (detail: the module), ``syntax-error``, ``timeout``, ``assertion``
(detail: the failing assert line) and ``verification-failed`` (anything else that did not verify).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PATTERNS = ("import-error", "syntax-error", "timeout", "assertion", "verification-failed")

_NO_MODULE = re.compile(r"No module named ['\"]?([\w.]+)")
_CANNOT_IMPORT = re.compile(r"cannot import name ['\"]?(\w+)['\"]? from ['\"]?([\w.]+)")
_IMPORT_ERROR = re.compile(r"\b(?:ModuleNotFoundError|ImportError)\b")
_SYNTAX = re.compile(r"\b(?:SyntaxError|IndentationError|TabError)\b|no longer parses")
_TIMEOUT = re.compile(r"\btimed? ?out\b|\bTimeoutError\b|took over [\d.]+ ?s", re.IGNORECASE)
_ASSERT_LINE = re.compile(r"^\s*(?:E\s+)?(assert .+|AssertionError.*)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Failure:
    pattern: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.pattern} ({self.detail})" if self.detail else self.pattern


def parse_failure(summary: str, output: str = "") -> Failure:
    """The pattern of a failed attempt from its one-line summary and its output's tail."""
    text = f"{summary}\n{output}"
    if _IMPORT_ERROR.search(text) or _NO_MODULE.search(text):
        named = _CANNOT_IMPORT.search(text)
        if named:
            return Failure("import-error", named.group(2))
        module = _NO_MODULE.search(text)
        return Failure("import-error", module.group(1) if module else "")
    if _SYNTAX.search(text):
        return Failure("syntax-error", _first_line_with(text, _SYNTAX))
    if _TIMEOUT.search(text):
        return Failure("timeout")
    asserted = _ASSERT_LINE.search(text)
    if asserted or "AssertionError" in text:
        return Failure("assertion", asserted.group(1).strip()[:160] if asserted else "")
    return Failure("verification-failed", summary.strip().splitlines()[0][:160] if summary else "")


def _first_line_with(text: str, pattern: re.Pattern[str]) -> str:
    for line in text.splitlines():
        if pattern.search(line):
            return line.strip()[:160]
    return ""
