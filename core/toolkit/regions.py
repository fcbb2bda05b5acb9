"""Python source by regions: parse only the part of a file a question is about, with ``ast``.

A module splits at its top-level ``def``/``class``/decorator lines into regions that are each a run
of complete statements, so each parses on its own and gives the same nodes a whole-file parse would
(line numbers shifted). When a region does not parse (a column-0 ``def`` inside a string), the whole
file is parsed instead, so answers stay exact. A large class is split once more into its members.
This keeps ``--all`` on a big tree cheap: only the regions holding findings are parsed.
"""

from __future__ import annotations

import ast
import bisect
import re
from dataclasses import dataclass

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Patterns start with a newline (the text gets one in front): much faster than ^ with re.M.
_HEADER = re.compile(r"\n([ \t]*)(?:(@)|(?:async[ \t]+)?(def|class)[ \t]+(\w+))")
_COLUMN0 = re.compile(r"\n[^\s#]")
_BIG_CLASS = 80  # lines; a class region longer than this is split into its members


@dataclass(frozen=True, slots=True)
class Header:
    line: int
    indent: int
    kind: str  # "@", "def", "class"
    name: str


@dataclass(slots=True)
class Parsed:
    """A parsed slice: ``tree`` line ``n`` is file line ``n + offset``."""

    tree: ast.Module
    offset: int


class SourceRegions:
    """One file's text with cached partial parses: ``symbol_at(line)``, ``locate(line)``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.headers: list[Header] = []
        padded = "\n" + source
        line, last = 0, 0
        for m in _HEADER.finditer(padded):
            line += padded.count("\n", last, m.start() + 1)
            last = m.start() + 1
            kind = "@" if m.group(2) else m.group(3)
            self.headers.append(Header(line, len(m.group(1).expandtabs()), kind, m.group(4) or ""))
        self.column0 = _line_numbers(_COLUMN0, padded)  # code lines starting at column 0
        self.top_starts = _starts(self.headers, 0, 1, len(self.lines))
        self._cache: dict[tuple[int, int, int], Parsed | None] = {}
        self._whole: Parsed | bool | None = False

    # -- public ----------------------------------------------------------------------------
    def top_region(self, line: int) -> tuple[int, int]:
        """The (first, last) lines of the top-level region holding ``line``."""
        return _region_of(self.top_starts, line, 1, len(self.lines))

    def parse_region(self, first: int, last: int, indent: int = 0) -> Parsed | None:
        """Lines first..last parsed alone (None when they do not parse)."""
        key = (first, last, indent)
        if key not in self._cache:
            text = "".join(self.lines[first - 1 : last])
            offset = first - 1
            if indent:
                text, offset = "if 1:\n" + text, first - 2
            try:
                self._cache[key] = Parsed(ast.parse(text), offset)
            except (SyntaxError, ValueError):
                self._cache[key] = None
        return self._cache[key]

    def whole(self) -> Parsed | None:
        if self._whole is False:
            try:
                self._whole = Parsed(ast.parse(self.source), 0)
            except (SyntaxError, ValueError):
                self._whole = None
        return self._whole  # type: ignore[return-value]

    def locate(self, line: int) -> Slice:
        """The smallest slice worth parsing for ``line``: a top-level region or a class member."""
        first, last = self.top_region(line)
        if last - first < _BIG_CLASS:
            return Slice(first, last)
        inside = [h for h in self.headers if first <= h.line <= last]
        head = next((h for h in inside if h.kind != "@"), None)
        if head is None or head.kind != "class" or head.indent != 0 or line <= head.line:
            return Slice(first, last)
        i = bisect.bisect_right(self.column0, head.line)
        if i < len(self.column0) and self.column0[i] <= last:
            return Slice(first, last)  # something at column 0 after the class line
        members = [h for h in inside if h.line > head.line and h.indent > 0]
        if not members:
            return Slice(first, last)
        indent = min(h.indent for h in members)
        starts = _starts(members, indent, head.line + 1, last)
        if not starts or starts[0] != head.line + 1:
            starts.insert(0, head.line + 1)  # the class body before its first member
        m_first, m_last = _region_of(starts, line, head.line + 1, last)
        end = last
        while end > head.line and self.lines[end - 1].lstrip()[:1] in ("", "#"):
            end -= 1  # blank and comment lines after the class's last statement are outside it
        return Slice(m_first, m_last, indent, (head.name,), end)

    def parse_slice(self, part: Slice) -> Parsed | None:
        return self.parse_region(part.first, part.last, part.indent)

    def symbol_at(self, line: int) -> str | None:
        """Dotted name of the innermost def/class enclosing ``line`` (None at module level)."""
        part = self.locate(line)
        parsed = self.parse_slice(part)
        if parsed is None or (part.indent and not _wrapped(parsed)):
            part, parsed = Slice(1, len(self.lines)), self.whole()
        if parsed is None:
            return None
        local = line - parsed.offset
        if part.indent:
            wrapper = parsed.tree.body[0]
            if _child_holding(parsed.tree, local) is wrapper:
                return ".".join([*part.prefix, *scope_chain(wrapper, local)])
            if line <= part.class_end:
                return ".".join(part.prefix)  # between two members of the class
        return ".".join(scope_chain(parsed.tree, local)) or None


@dataclass(frozen=True, slots=True)
class Slice:
    """Lines first..last; when ``indent`` > 0 they are the body of class ``prefix``."""

    first: int
    last: int
    indent: int = 0
    prefix: tuple[str, ...] = ()
    class_end: int = 0  # last line of the class when ``indent`` > 0


def _wrapped(parsed: Parsed) -> bool:
    return bool(parsed.tree.body) and isinstance(parsed.tree.body[0], ast.If)


def _starts(headers: list[Header], indent: int, first: int, last: int) -> list[int]:
    """First lines of the statements at ``indent`` that begin with a decorator, def or class."""
    starts: list[int] = []
    in_decorators = False  # the last start is a decorator whose def/class has not come yet
    for h in headers:
        if h.indent != indent or not first <= h.line <= last:
            continue
        if in_decorators:
            in_decorators = h.kind == "@"
            continue
        starts.append(h.line)
        in_decorators = h.kind == "@"
    return starts


def _line_numbers(pattern: re.Pattern[str], padded: str) -> list[int]:
    """Line numbers where ``pattern`` (starting with a newline) matches ``"\\n" + source``."""
    numbers: list[int] = []
    line, last = 0, 0
    for m in pattern.finditer(padded):
        line += padded.count("\n", last, m.start() + 1)
        last = m.start() + 1
        numbers.append(line)
    return numbers


def _region_of(starts: list[int], line: int, first: int, last: int) -> tuple[int, int]:
    i = bisect.bisect_right(starts, line) - 1
    begin = starts[i] if i >= 0 else first
    end = starts[i + 1] - 1 if i + 1 < len(starts) else last
    return begin, end


def scope_chain(tree: ast.AST, line: int) -> list[str]:
    """Names of the defs/classes enclosing ``line`` in ``tree``, outermost first.

    A def's decorators are outside it; its header and body are inside (as ``ast`` line numbers say).
    """
    names: list[str] = []
    node: ast.AST = tree
    while True:
        child = _child_holding(node, line)
        if child is None:
            return names
        if isinstance(child, SCOPES):
            names.append(child.name)
        node = child


def _child_holding(node: ast.AST, line: int) -> ast.AST | None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.stmt | ast.excepthandler | ast.match_case):
            start = getattr(child, "lineno", None)
            if isinstance(child, ast.match_case):
                start = child.pattern.lineno
            end = getattr(child, "end_lineno", None) or start
            if isinstance(child, ast.match_case) and child.body:
                end = child.body[-1].end_lineno
            if start is not None and end is not None and start <= line <= end:
                return child
    return None
