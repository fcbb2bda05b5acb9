"""Each agent is one subpackage on core's toolkit: no agent imports another, and none changes
process-wide state (the garbage collector) or keeps a module-level cache of analysed data."""

import ast
from pathlib import Path

import controlroom.agents
import controlroom.core.toolkit

AGENTS_DIR = Path(controlroom.agents.__path__[0])
AGENT_PACKAGES = ("critic", "docs", "impact", "sweeps", "testgen")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def test_every_agent_is_a_subpackage_and_nothing_else_lies_loose():
    packages = sorted(p.name for p in AGENTS_DIR.iterdir() if (p / "__init__.py").is_file())
    loose = sorted(p.name for p in AGENTS_DIR.glob("*.py") if p.name != "__init__.py")
    assert packages == list(AGENT_PACKAGES) and loose == []


def test_no_agent_imports_another():
    crossings = []
    for package in AGENT_PACKAGES:
        for module in (AGENTS_DIR / package).rglob("*.py"):
            for name in _imports(module):
                parts = name.split(".")
                if (
                    parts[:2] == ["controlroom", "agents"]
                    and len(parts) > 2
                    and parts[2] != package
                ):
                    crossings.append(f"{module.relative_to(AGENTS_DIR)} imports {name}")
    assert crossings == []


def test_no_agent_or_toolkit_switches_the_garbage_collector_off():
    toolkit = Path(controlroom.core.toolkit.__path__[0])
    offenders = [
        str(path)
        for root in (AGENTS_DIR, toolkit)
        for path in root.rglob("*.py")
        if "gc.disable" in path.read_text(encoding="utf-8")
        or "gc.freeze" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
