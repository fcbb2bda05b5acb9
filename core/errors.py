"""Exit codes and the errors that carry them to the command line."""

from __future__ import annotations

import enum

from controlroom.core.oneline import one_line


class ExitCode(enum.IntEnum):
    """Documented in docs/run-once.md. Scripts may rely on these numbers."""

    OK = 0
    THRESHOLD = 1  # --fail-on threshold met
    USAGE = 2  # bad command line or bad config
    RUNTIME = 3  # not a repository, unreadable store, git failure
    SLA_GATE = 4  # --sla-gate strict and a gating SLA is violated
    INTERRUPTED = 130
    BROKEN_PIPE = 141  # the reader of stdout went away (`| head`): ended quietly


class ControlroomError(Exception):
    """An error with a one-line message for the operator and an exit code."""

    exit_code: ExitCode = ExitCode.RUNTIME

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0])


class ConfigError(ControlroomError):
    """A config file is wrong; the message names the file, the line and the key."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        # Keys and values come from files we do not control: never a raw newline or escape.
        super().__init__(one_line(f"{where}{message}"))
        self.path = path
        self.line = line


class UsageError(ControlroomError):
    exit_code = ExitCode.USAGE


class RepositoryError(ControlroomError):
    """Not a git repository, no commits, an unknown ref."""

    exit_code = ExitCode.RUNTIME


class StoreError(ControlroomError):
    exit_code = ExitCode.RUNTIME


class TaskNotFound(ControlroomError):
    exit_code = ExitCode.USAGE


class InvalidTransition(ControlroomError):
    exit_code = ExitCode.USAGE
