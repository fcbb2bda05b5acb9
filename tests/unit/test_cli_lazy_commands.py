"""The TUI and --run-once start without importing the subcommands' modules (their imports cost
more than a small commit's analysis); a subcommand or --help still finds every command."""

import argparse
import subprocess
import sys

from controlroom.tui.cli import build_parser


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(sub.choices)


def test_no_subcommand_means_no_command_module_is_loaded():
    assert _commands(build_parser(["--run-once", "--repo", "tasks", "--quiet"])) == set()
    assert _commands(build_parser([])) == set()


def test_a_subcommand_or_help_loads_them_all():
    assert {"tasks", "decide", "sla", "trust"} <= _commands(build_parser(["--db", "x", "tasks"]))
    assert "tasks" in _commands(build_parser(["--help"]))


def test_run_once_in_a_fresh_interpreter_imports_no_command_module():
    script = (
        "import sys\n"
        "from controlroom.tui.cli import build_parser\n"
        "build_parser(['--run-once'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('controlroom.tui.commands.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
