"""The one module that writes errors to stderr, and the exit codes they carry."""

from __future__ import annotations

import sys

from controlroom.core.errors import ControlroomError, ExitCode
from controlroom.tui.format import terminal_safe

PROG = "controlroom"


def error(message: str) -> None:
    """One line on stderr: ``controlroom: error: <message>`` (control characters escaped)."""
    print(f"{PROG}: error: {terminal_safe(message)}", file=sys.stderr, flush=True)


def warn(message: str) -> None:
    print(f"{PROG}: warning: {terminal_safe(message)}", file=sys.stderr, flush=True)


def report(exc: ControlroomError) -> ExitCode:
    error(exc.message)
    return exc.exit_code
