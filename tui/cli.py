"""The ``controlroom`` command: the TUI by default, ``--run-once`` headless, and subcommands."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from controlroom.core.errors import ControlroomError, ExitCode
from controlroom.tui import commands, diagnostics


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        diagnostics.error(f"{message} (see '{self.prog} --help')")
        raise SystemExit(ExitCode.USAGE)


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--repo", metavar="PATH", help="the git repository (default: current directory)"
    )
    common.add_argument(
        "--db", metavar="PATH", help="the store (default: <repo>/.controlroom/state.db)"
    )
    common.add_argument("--config", metavar="FILE", help="config file instead of the repository's")
    return common


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("controlroom")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


class _VersionAction(argparse.Action):
    """``--version``: the installed version, looked up only when asked (the lookup costs ~40 ms)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        parser.exit(message=f"{parser.prog} {_version()}\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line. Given ``argv`` without a subcommand (the TUI, ``--run-once``), the
    subcommands' modules are not imported: their imports cost more than a small commit's analysis."""
    common = common_options()
    parser = _Parser(
        prog="controlroom",
        description="A terminal control room for AI-assisted maintenance of a git repository.",
        parents=[common],
    )
    from controlroom.tui import run_once  # the headless cycle's own flags

    run_once.add_arguments(parser)
    parser.add_argument(
        "--read-only", action="store_true", help="TUI: browse only, no state-changing actions"
    )
    parser.add_argument(
        "--version", action=_VersionAction, nargs=0, help="print the version and exit"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    if argv is not None and not _names_a_command(parser, argv):
        return parser
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(subparsers, common)
    return parser


def _names_a_command(parser: argparse.ArgumentParser, argv: Sequence[str]) -> bool:
    """Whether ``argv`` has a positional word (a subcommand) or asks for help."""
    takes_value = {
        option
        for action in parser._actions  # argparse keeps no public list of them
        if action.nargs != 0
        for option in action.option_strings
    }
    words = iter(argv)
    for word in words:
        if word in ("-h", "--help") or word == "--":
            return True
        if not word.startswith("-"):
            return True
        if word in takes_value:
            next(words, None)  # its value
    return False


def main(argv: Sequence[str] | None = None) -> int:
    from controlroom.core.config import set_notice_reporter

    set_notice_reporter(diagnostics.warn)  # ignored untrusted settings: one warning line
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words)
    args = parser.parse_args(words)
    try:
        if getattr(args, "handler", None) is not None:
            code = args.handler(args)
        elif args.run_once:
            from controlroom.tui import run_once

            code = run_once.run(args)
        else:
            from controlroom.tui.launch import launch

            code = launch(args)
    except ControlroomError as exc:
        code = diagnostics.report(exc)
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        raise  # the reader went away: entry() ends quietly, not a storage error
    except (sqlite3.Error, OSError, OverflowError, BaseExceptionGroup) as exc:
        known = diagnostics.translate(exc, _store_hint(args))
        if known is None:
            raise
        code = diagnostics.report(known)
    return int(code)


def _store_hint(args: argparse.Namespace) -> Path | None:
    """The store a command was using, to name it in an error (no side effects)."""
    from controlroom.core.paths import STATE_DIR_NAME

    if getattr(args, "db", None):
        return Path(args.db).resolve()
    repo = Path(getattr(args, "repo", None) or ".").resolve()
    for folder in (repo, *repo.parents):
        if (folder / ".git").exists():
            return folder / STATE_DIR_NAME / "state.db"
    return None


def entry() -> None:
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``controlroom tasks | head``): end quietly, like other Unix tools.
        # Point stdout at devnull so the interpreter's final flush cannot raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = ExitCode.BROKEN_PIPE
    sys.exit(code)
