"""core must be usable without a screen: importing every core module never loads textual/tui/agents."""

import json
import pkgutil
import subprocess
import sys

import core

FORBIDDEN = ("textual", "tui", "agents")


def test_core_modules_do_not_import_the_ui_or_agents():
    modules = [m.name for m in pkgutil.walk_packages(core.__path__, "core.")]
    assert "core.queue" in modules and "core.store.db" in modules
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{FORBIDDEN!r})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout) == []


def test_run_once_does_not_import_textual():
    script = (
        "import sys\n"
        "from tui import cli, run_once\n"
        "cli.build_parser()\n"
        "print('textual' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"


HEAVY = ("textual", "anthropic", "psutil", "griffe", "hypothesis", "prometheus_client", "plotext")


def test_building_the_cli_parser_stays_light():
    """Every command's module is imported to build the parser: they import heavy things lazily."""
    script = (
        "import sys\n"
        "from tui import cli\n"
        "cli.build_parser()\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
