"""Read docstrings written in Google, NumPy or Sphinx style into one shape.

Only what the doc writer checks is extracted: the documented parameters, whether a return value is
described, and the documented exceptions. Unknown layouts come back as style ``"plain"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_GOOGLE_PARAMS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"}
_GOOGLE_RETURNS = {"returns", "return", "yields", "yield"}
_GOOGLE_RAISES = {"raises", "raise", "exceptions"}
_GOOGLE_OTHER = {
    "attributes",
    "example",
    "examples",
    "note",
    "notes",
    "see also",
    "todo",
    "warning",
    "warnings",
    "references",
    "other parameters",
    "methods",
}
_GOOGLE_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z ]*):\s*$")
_NUMPY_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
_SPHINX_FIELD = re.compile(
    r"^\s*:(param|parameter|arg|argument|key|keyword|type|raises|raise|except|exception|"
    r"returns|return|rtype|yields|yield)\b([^:]*):"
)
_ITEM_NAME = re.compile(r"^\s*\**([A-Za-z_][A-Za-z0-9_]*)")
# A Google item: ``name: text`` or ``name (type): text``; prose or code at the items' indent is not one.
_GOOGLE_ITEM = re.compile(r"^\s*\**[A-Za-z_][A-Za-z0-9_]*\s*(\([^)]*\))?\s*:")
# A NumPy parameter line: ``name``, ``x, y`` or ``*args``, then `` : type`` or nothing. Prose ("If you
# have ...") or a code example at the same indent is not one.
_NUMPY_PARAM = re.compile(
    r"^\s*(\**[A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*\**[A-Za-z_][A-Za-z0-9_]*)*)\s*(?::.*)?$"
)
# Section titles: a title left without its underline ("References" alone) ends the section before.
_NUMPY_SECTIONS = {
    "parameters", "other parameters", "keyword arguments", "returns", "yields", "receives",
    "raises", "warns", "warnings", "see also", "notes", "references", "examples", "attributes",
    "methods",
}  # fmt: skip


@dataclass(slots=True)
class ParsedDocstring:
    """The parts of a docstring the doc writer compares with the code."""

    style: str  # "google", "numpy", "sphinx" or "plain"
    summary: str = ""
    params: list[str] = field(default_factory=list)
    has_params_section: bool = False
    has_returns: bool = False
    raises: list[str] = field(default_factory=list)
    has_raises_section: bool = False

    @property
    def is_structured(self) -> bool:
        """True when the docstring has at least one recognised section."""
        return self.style != "plain"


def parse_docstring(text: str) -> ParsedDocstring:
    """Parse ``text`` (an already dedented docstring) in whichever style it is written."""
    lines = text.expandtabs().splitlines()
    summary = next((line.strip() for line in lines if line.strip()), "")
    if any(_SPHINX_FIELD.match(line) for line in lines):
        parsed = _parse_sphinx(lines)
    elif any(
        _NUMPY_UNDERLINE.match(lines[i + 1]) and lines[i].strip() for i in range(len(lines) - 1)
    ):
        parsed = _parse_numpy(lines)
    else:
        parsed = _parse_google(lines)
    parsed.summary = summary
    return parsed


def _section_key(header: str) -> str:
    return " ".join(header.strip().lower().split())


def _parse_google(lines: list[str]) -> ParsedDocstring:
    doc = ParsedDocstring(style="plain")
    section: str | None = None
    item_indent: int | None = None
    header_indent = 0
    for line in lines:
        header = _GOOGLE_HEADER.match(line)
        key = _section_key(header[1]) if header else ""
        if header and key in _GOOGLE_PARAMS | _GOOGLE_RETURNS | _GOOGLE_RAISES | _GOOGLE_OTHER:
            section, item_indent = key, None
            header_indent = len(line) - len(line.lstrip())
            doc.style = "google"
            if key in _GOOGLE_RETURNS:
                doc.has_returns = True
            elif key in _GOOGLE_PARAMS:
                doc.has_params_section = True
            elif key in _GOOGLE_RAISES:
                doc.has_raises_section = True
            continue
        if not line.strip() or section is None:
            continue
        indent = len(line) - len(line.lstrip())
        if indent <= header_indent:  # back at the header's level (prose, a directive): it ended
            section = None
            continue
        if item_indent is None:
            item_indent = indent
        if indent != item_indent:
            continue  # a continuation line of the previous item
        name = _ITEM_NAME.match(line)
        if name is None:
            continue
        if section in _GOOGLE_PARAMS and _GOOGLE_ITEM.match(line):
            doc.params.append(name[1])
        elif section in _GOOGLE_RAISES:
            doc.raises.append(_exception_name(line))
    return doc


def _parse_numpy(lines: list[str]) -> ParsedDocstring:
    doc = ParsedDocstring(style="numpy")
    section: str | None = None
    for i, line in enumerate(lines):
        if _NUMPY_UNDERLINE.match(line):
            continue
        if i + 1 < len(lines) and _NUMPY_UNDERLINE.match(lines[i + 1]) and line.strip():
            section = _section_key(line)
            if section in ("parameters", "other parameters", "keyword arguments"):
                doc.has_params_section = True
            elif section in ("returns", "yields"):
                doc.has_returns = True
            elif section in ("raises",):
                doc.has_raises_section = True
            continue
        if not line.strip() or section is None or line[0].isspace():
            continue
        if _section_key(line) in _NUMPY_SECTIONS:
            section = _section_key(line)
            continue
        if section in ("parameters", "other parameters", "keyword arguments"):
            # "x, y : int" documents two parameters.
            names = _NUMPY_PARAM.match(line)
            for part in names[1].split(",") if names else ():
                doc.params.append(part.strip().lstrip("*"))
        elif section == "raises":
            doc.raises.append(_exception_name(line))
    return doc


def _parse_sphinx(lines: list[str]) -> ParsedDocstring:
    doc = ParsedDocstring(style="sphinx")
    for line in lines:
        match = _SPHINX_FIELD.match(line)
        if not match:
            continue
        kind, rest = match[1], match[2].split()
        if kind in ("param", "parameter", "arg", "argument", "key", "keyword"):
            doc.has_params_section = True
            if rest:
                doc.params.append(rest[-1].lstrip("*"))
        elif kind in ("returns", "return", "rtype", "yields", "yield"):
            doc.has_returns = True
        elif kind in ("raises", "raise", "except", "exception"):
            doc.has_raises_section = True
            if rest:
                doc.raises.append(rest[-1])
            else:  # ":raises: pkg.Error if ...": the exception opens the description
                said = line[match.end() :].split()
                if said:
                    doc.raises.append(_exception_name(said[0]))
    return doc


def _exception_name(line: str) -> str:
    head = line.strip().split(":", 1)[0].strip()
    head = head.split()[0] if head.split() else head
    return head.rsplit(".", 1)[-1]
