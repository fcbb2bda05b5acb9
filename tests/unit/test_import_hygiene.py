"""core must be usable without a screen: importing every core module never loads textual/tui/agents.

Everything installs under one import name, ``controlroom``: nothing called ``core``, ``agents``, ``tui``
or ``data`` is imported at the top level.
"""

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import controlroom.core

FORBIDDEN = ("textual", "controlroom.tui", "controlroom.agents")
TOP_LEVEL_NAMES = ("core", "agents", "tui", "data")


def _run(script: str) -> str:
    """Run ``script`` in a fresh interpreter outside the checkout, so only the install is importable."""
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=Path(os.sep),
    )
    return out.stdout.strip()


def test_core_modules_do_not_import_the_ui_or_agents():
    modules = [
        m.name for m in pkgutil.walk_packages(controlroom.core.__path__, "controlroom.core.")
    ]
    assert "controlroom.core.queue" in modules and "controlroom.core.store.db" in modules
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'"
        f" or m.startswith({FORBIDDEN[1:]!r}))))\n"
    )
    assert json.loads(_run(script)) == []


def test_nothing_lands_under_a_generic_top_level_name():
    script = (
        "import json, sys\n"
        "from controlroom.tui import cli, app\n"
        "from controlroom.agents import critic\n"
        "import controlroom.data\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {TOP_LEVEL_NAMES!r})))\n"
    )
    assert json.loads(_run(script)) == []


def test_run_once_does_not_import_textual():
    script = (
        "import sys\n"
        "from controlroom.tui import cli, run_once\n"
        "cli.build_parser()\n"
        "print('textual' in sys.modules)\n"
    )
    assert _run(script) == "False"


HEAVY = ("textual", "anthropic", "psutil", "griffe", "hypothesis", "prometheus_client", "plotext")


def test_building_the_cli_parser_stays_light():
    """Every command's module is imported to build the parser: they import heavy things lazily."""
    script = (
        "import sys\n"
        "from controlroom.tui import cli\n"
        "cli.build_parser()\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    assert _run(script) == "[]"
