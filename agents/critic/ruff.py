"""Running ruff for the critic: one async subprocess over a temporary copy of the commit's files."""

from __future__ import annotations

import asyncio
import json
import os
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlroom.core.model import FileChange
from controlroom.core.secrets import child_env

SYNTAX_CODES = {None, "invalid-syntax", "E999"}
_CATEGORISED = {"PL"}  # linters whose codes carry a category letter: pylint's PLC, PLE, PLR, PLW


def _letters(code: str) -> str:
    return code[: len(code) - len(code.lstrip(string.ascii_uppercase))]


def selects(selector: str, rule: str) -> bool:
    """Whether a rule selector (a code or a prefix, as in ruff's ``select``) takes ``rule``: a
    linter's letters take only its own codes (``S`` takes ``S105``, never ``SIM108``; ``B`` never
    ``BLE001``), ``PL`` takes pylint's ``PLR0912``, and a selector with digits is a plain prefix."""
    if not rule.startswith(selector):
        return False
    letters = _letters(selector)
    if len(letters) < len(selector):
        return True
    own = _letters(rule)
    return own == letters or (letters in _CATEGORISED and len(own) == len(letters) + 1)


@dataclass(frozen=True, slots=True)
class RuffDiagnostic:
    """One entry of ``ruff check --output-format json``, with a repo-relative path."""

    path: str
    code: str | None
    message: str
    line: int
    end_line: int
    column: int
    url: str | None
    fix: dict[str, Any] | None
    name: str | None

    @property
    def is_syntax_error(self) -> bool:
        return self.code in SYNTAX_CODES


def ruff_binary() -> str:
    """The ``ruff`` executable of the installed ruff package."""
    from ruff.__main__ import find_ruff_bin

    return str(find_ruff_bin())


def write_tree(root: Path, files: list[FileChange]) -> list[str]:
    """Write each file's text at the commit under ``root``, mirroring its path; returns the paths."""
    made: set[Path] = set()
    written = []
    for change in files:
        assert change.new_text is not None
        target = root / change.path
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        with open(target, "w", encoding="utf-8", newline="", errors="surrogateescape") as handle:
            handle.write(change.new_text)
        written.append(change.path)
    return written


def ruff_arguments(select: list[str], ignore: list[str], max_complexity: int) -> list[str]:
    """The fixed part of the command line: JSON, no cache, no user config, our rules."""
    args = ["check", "--output-format", "json", "--no-cache", "--isolated", "--exit-zero"]
    args += ["--select", ",".join(select)]
    if ignore:
        args += ["--ignore", ",".join(ignore)]
    args += ["--config", f"lint.mccabe.max-complexity={int(max_complexity)}"]
    return args


async def run_ruff(root: Path, paths: list[str], arguments: list[str]) -> list[RuffDiagnostic]:
    """Run ruff once on ``paths`` (relative to ``root``); RuntimeError when ruff itself fails."""
    proc = await asyncio.create_subprocess_exec(
        ruff_binary(),
        *arguments,
        "--",
        *paths,
        cwd=root,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env({"NO_COLOR": "1"}),
    )
    try:
        out, err = await proc.communicate()
    except asyncio.CancelledError:  # the agent's timeout: never leave ruff running
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        lines = err.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"ruff failed: {lines[0] if lines else f'exit {proc.returncode}'}")
    return parse_ruff_json(out, root)


def parse_ruff_json(output: bytes, root: Path) -> list[RuffDiagnostic]:
    base = str(root.resolve())
    result = []
    for item in json.loads(output or b"[]"):
        location = item.get("location") or {"row": 1, "column": 1}
        end = item.get("end_location") or location
        result.append(
            RuffDiagnostic(
                path=os.path.relpath(item["filename"], base).replace(os.sep, "/"),
                code=item.get("code"),
                message=item.get("message", ""),
                line=int(location["row"]),
                end_line=max(int(end["row"]), int(location["row"])),
                column=int(location["column"]),
                url=item.get("url"),
                fix=item.get("fix"),
                name=item.get("name"),
            )
        )
    return result


def fix_text(fix: dict[str, Any] | None) -> str | None:
    """A one-line description of ruff's fix: its message, else what its edits do."""
    if not fix:
        return None
    if fix.get("message"):
        return str(fix["message"])
    edits = fix.get("edits") or []
    if not edits:
        return None
    first = edits[0]
    content = str(first.get("content", "")).strip()
    where = first.get("location", {}).get("row", "?")
    return f"replace line {where} with {content!r}" if content else f"delete from line {where}"
