"""Parsers for the plumbing output core.git asks git for: raw diffs, -U0 patches, numstat logs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from controlroom.core.model import LineRange

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known empty tree (SHA-1)
LOG_FORMAT = "%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%ct%x1f%s"
_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.M)
_C_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f"}
_C_ESCAPES |= {"r": "\r", "v": "\v"}


@dataclass(frozen=True, slots=True)
class RawChange:
    """One line of ``git diff-tree --raw -z``: modes, blob shas, status letter, paths."""

    old_mode: str
    new_mode: str
    old_blob: str
    new_blob: str
    status: str  # A, M, D, R (with score stripped), T, C
    path: str
    old_path: str | None = None


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One commit of ``git log --numstat``: binary files count 0 added, 0 deleted."""

    sha: str
    parents: tuple[str, ...]
    author: str
    email: str
    time: int  # unix seconds, committer time
    subject: str
    files: list[tuple[str, int, int]] = field(default_factory=list)


def parse_raw(output: bytes) -> list[RawChange]:
    """Parse ``git diff-tree -r -z --raw --no-abbrev`` output (paths decoded with surrogates)."""
    parts = output.split(b"\0")
    changes: list[RawChange] = []
    i = 0
    while i < len(parts) and parts[i].startswith(b":"):
        old_mode, new_mode, old_blob, new_blob, status = parts[i][1:].decode().split(" ")
        letter = status[0]
        if letter in "RC":
            old_path, path = _path(parts[i + 1]), _path(parts[i + 2])
            i += 3
        else:
            old_path, path = None, _path(parts[i + 1])
            i += 2
        changes.append(RawChange(old_mode, new_mode, old_blob, new_blob, letter, path, old_path))
    return changes


def _path(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def parse_patch_ranges(patch: bytes) -> dict[str, tuple[LineRange, ...]]:
    """New-side changed line ranges per new path, from ``git diff -U0`` output.

    A hunk that only deletes lines (``+N,0``) changes no line on the new side and is left out.
    """
    ranges: dict[str, list[LineRange]] = {}
    for section in patch.split(b"\ndiff --git "):
        header_end = section.find(b"\n@@")
        header = section if header_end < 0 else section[:header_end]
        target = _new_path(header)
        if target is None:
            continue
        current = ranges.setdefault(target, [])
        for match in _HUNK.finditer(section):
            start = int(match.group(1))
            count = 1 if match.group(2) is None else int(match.group(2))
            if count:
                current.append(LineRange(start, start + count - 1))
    return {path: tuple(found) for path, found in ranges.items()}


def _new_path(header: bytes) -> str | None:
    for line in header.split(b"\n"):
        if line.startswith(b"+++ "):
            name = line[4:].rstrip(b"\t")  # git adds a tab after names with spaces
            if name == b"/dev/null":
                return None
            text = _unquote(name.decode("utf-8", "surrogateescape"))
            return text[2:] if text.startswith("b/") else text
    return None


def _unquote(name: str) -> str:
    """Undo git's C-style quoting of unusual paths (``"b/tab\\there"``)."""
    if not (len(name) >= 2 and name[0] == name[-1] == '"'):
        return name
    body, out, i = name[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567":
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out += _C_ESCAPES.get(nxt, nxt).encode()
            i += 2
            continue
        out += char.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "surrogateescape")


def parse_log(output: bytes) -> list[LogEntry]:
    """Parse ``git log -z --numstat --no-renames --format=LOG_FORMAT`` output."""
    entries: list[LogEntry] = []
    for record in output.split(b"\x1e")[1:]:
        header, _, rest = record.partition(b"\0")
        sha, parents, author, email, when, subject = header.decode("utf-8", "replace").split(
            "\x1f", 5
        )
        files: list[tuple[str, int, int]] = []
        for item in rest.lstrip(b"\n").split(b"\0"):
            item = item.strip(b"\n")
            if not item:
                continue
            added, deleted, path = item.split(b"\t", 2)
            files.append((_path(path), _count(added), _count(deleted)))
        entries.append(
            LogEntry(sha, tuple(parents.split()), author, email, int(when), subject, files)
        )
    return entries


def _count(value: bytes) -> int:
    return 0 if value == b"-" else int(value)
