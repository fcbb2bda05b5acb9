"""Shared by the hobby sweeps: the repository's Python files at a commit, and their functions."""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from controlroom.core.model import Finding, Severity
from controlroom.core.secrets import child_env
from controlroom.core.sourcetext import decode_python
from controlroom.core.testpaths import is_test_path as is_test_path  # the shared rule

MAX_FILE_BYTES = 1_000_000  # only when no git.max_file_bytes reaches the reader


def python_files_at(repo: Path, sha: str, max_bytes: int | None = None) -> dict[str, str]:
    """Every ``.py`` file of ``sha`` (path -> text) within ``max_bytes`` (sizes from ``ls-tree``,
    so a larger file is never read), with one ``git cat-file --batch``."""
    cap = MAX_FILE_BYTES if max_bytes is None else max_bytes
    listing = subprocess.run(
        ["git", "ls-tree", "-r", "-z", "--long", sha],
        cwd=repo, capture_output=True, check=True, env=child_env(),
    ).stdout.decode("utf-8", "replace")  # fmt: skip
    wanted: list[tuple[str, str]] = []
    for entry in listing.split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        mode, kind, blob, size_text = meta.split()
        readable = size_text.isdigit() and int(size_text) <= cap and mode != "120000"
        if kind == "blob" and path.endswith(".py") and readable:
            wanted.append((path, blob))
    if not wanted:
        return {}
    request = "".join(f"{blob}\n" for _path, blob in wanted).encode()
    raw = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=repo,
        input=request,
        capture_output=True,
        check=True,
        env=child_env(),
    ).stdout
    files: dict[str, str] = {}
    offset = 0
    for path, _blob in wanted:
        header_end = raw.index(b"\n", offset)
        size = int(raw[offset:header_end].split()[2])
        body = raw[header_end + 1 : header_end + 1 + size]
        offset = header_end + 1 + size + 1
        text = decode_python(body)
        if text is not None:
            files[path] = text
    return files


@dataclass(frozen=True, slots=True)
class Definition:
    """A function, method or class with its dotted name."""

    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    qualname: str
    public: bool

    @property
    def line(self) -> int:
        return self.node.lineno

    @property
    def is_class(self) -> bool:
        return isinstance(self.node, ast.ClassDef)

    @property
    def length(self) -> int:
        return (self.node.end_lineno or self.node.lineno) - self.node.lineno + 1


def definitions(tree: ast.AST) -> Iterator[Definition]:
    """Module-level functions and classes and their methods (not nested functions)."""

    def walk(body: list[ast.stmt], prefix: str, public: bool) -> Iterator[Definition]:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = node.name
                dunder = name.startswith("__") and name.endswith("__")
                visible = public and not name.startswith("_") and not dunder
                qualname = f"{prefix}{name}"
                yield Definition(node, qualname, visible)
                if isinstance(node, ast.ClassDef):
                    yield from walk(node.body, f"{qualname}.", visible)

    yield from walk(getattr(tree, "body", []), "", True)


def parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def line_text(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def finding(
    agent: str,
    rule: str,
    severity: Severity,
    path: str,
    line: int,
    message: str,
    *,
    text: str,
    symbol: str | None,
    confidence: float,
    suggested_fix: str | None = None,
    extra: dict | None = None,
) -> Finding:
    return Finding(
        agent=agent,
        rule=rule,
        severity=severity,
        path=path,
        line=line,
        message=message,
        symbol=symbol,
        snippet=line_text(text, line),
        suggested_fix=suggested_fix,
        confidence=confidence,
        extra=extra or {},
    )
