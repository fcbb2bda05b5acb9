"""reST section titles in docstrings turned into Markdown (``controlroom docs readme``).

A title is a line of text underlined (and perhaps overlined) by one punctuation character repeated
(``====``, ``----``, ``~~~~``, ...). Levels follow the order in which the adornment styles first
appear, as in docutils.
"""

from __future__ import annotations

import re

_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}\s*$")


def is_adornment(line: str) -> bool:
    """A line of one punctuation character repeated, three times or more."""
    return bool(_ADORNMENT.match(line.strip()))


def _title_at(lines: list[str], i: int) -> tuple[str, str, int] | None:
    """(title, style, lines used) when a section title starts at ``lines[i]``."""
    over = is_adornment(lines[i])
    start = i + 1 if over else i
    if start + 1 >= len(lines):
        return None
    title, under = lines[start].strip(), lines[start + 1]
    if not title or is_adornment(title) or not is_adornment(under):
        return None
    if over and lines[i].strip()[0] != under.strip()[0]:
        return None
    style = ("over" if over else "") + under.strip()[0]
    return title, style, (3 if over else 2)


def markdown_headings(text: str, top: int = 2) -> str:
    """``text`` with every reST section title as a Markdown heading; the first style is level ``top``."""
    lines = text.splitlines()
    styles: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(lines):
        found = _title_at(lines, i) if i == 0 or not lines[i - 1].strip() else None
        if found is None:
            out.append(lines[i])
            i += 1
            continue
        title, style, used = found
        if style not in styles:
            styles.append(style)
        out.append("#" * min(6, top + styles.index(style)) + " " + title)
        i += used
    return "\n".join(out)


_JOINED = re.compile(
    r"^(?:([!-/:-@\[-`{-~])\1{2,}\s+)?(?P<title>.+?)\s+([!-/:-@\[-`{-~])\3{2,}(?:\s+(?P<rest>.*))?$"
)


def joined_title(summary: str) -> tuple[str, str] | None:
    """(title, rest) when a one-line summary is a reST title joined with its adornment."""
    match = _JOINED.match(summary.strip())
    if match is None or is_adornment(match["title"]):
        return None
    return match["title"].strip(), (match["rest"] or "").strip()


def first_paragraph_after_title(docstring: str) -> str:
    """The first paragraph after a leading section title, joined into one line ("" if none)."""
    lines = docstring.strip().splitlines()
    found = _title_at(lines, 0) if lines else None
    if found is None:
        return ""
    body = "\n".join(lines[found[2] :]).strip().split("\n\n", 1)[0]
    return " ".join(line.strip() for line in body.splitlines() if not is_adornment(line))
