"""The import probe: one sandboxed child says which modules do not import, and why."""

from __future__ import annotations

from pathlib import Path

from controlroom.agents.testgen.imports import import_failures
from controlroom.agents.testgen.sandbox import Limits

MODULES = {
    "pkg/__init__.py": "",
    "pkg/good.py": "def f(x):\n    return x\n",
    "pkg/needs_dep.py": "import asgiref_not_installed_here\n\ndef g(x):\n    return x\n",
    "pkg/broken.py": "raise RuntimeError('settings are not configured')\n",
}


def tree_of(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


async def test_the_probe_names_the_missing_dependency_and_the_failing_module(tmp_path):
    tree = tree_of(tmp_path / "tree", MODULES)
    found = await import_failures(
        tree,
        tmp_path / "box",
        ["pkg.good", "pkg.needs_dep", "pkg.broken"],
        [str(tree)],
        Limits(timeout=30.0),
    )
    assert found is not None and set(found) == {"pkg.needs_dep", "pkg.broken"}
    assert found["pkg.needs_dep"].missing == "asgiref_not_installed_here"
    assert found["pkg.broken"].missing is None
    assert found["pkg.broken"].reason("pkg.broken") == (
        "importing pkg.broken failed: RuntimeError: settings are not configured"
    )


async def test_a_module_that_writes_over_the_answer_leaves_no_answer(tmp_path):
    """The repository's code runs in the probe: what it writes to the result pipe is not taken
    as the answer (then every module gets its ghostwriter child, as without a probe)."""
    hostile = {**MODULES, "pkg/liar.py": "import os\nos.write(3, b'{\"pkg.good\": {')\n"}
    tree = tree_of(tmp_path / "tree", hostile)
    found = await import_failures(
        tree, tmp_path / "box", ["pkg.liar", "pkg.good"], [str(tree)], Limits(timeout=30.0)
    )
    assert found is None
