"""The tests agent runs in the project's own environment, and offers only tests that catch a mutant.

Real repositories, a real project ``.venv`` (made with ``venv``, no network), the real sandbox.
"""

from __future__ import annotations

import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from controlroom.agents.testgen.env import find_environment
from controlroom.agents.testgen.mutants import mutants
from tests.unit.test_testgen_agent import analyze, by_symbol

CODEC = """\
from tinydep import SHIFT


def encode(values: list[int]) -> list[int]:
    return [v + SHIFT for v in values]


def decode(values: list[int]) -> list[int]:
    return [v - SHIFT for v in values]
"""

MIXED = """\
def label(n: int) -> str:
    if n > 0:
        return "positive"
    return "other"


def stamp(n: int) -> str:
    if n > 0:
        return str(object())
    return "other"


def encode(values: list[int]) -> list[int]:
    return [v + 3 for v in values]


def decode(values: list[int]) -> list[int]:
    return [v - 3 for v in values]
"""


def make_venv(root: Path, *, with_tools: bool, dependency: str | None = None) -> Path:
    """``root/.venv``: a real virtual environment; pytest and Hypothesis (when asked) through a
    ``.pth`` naming this interpreter's site-packages, ``tinydep`` written into its own."""
    venv = root / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    version = sysconfig.get_python_version()
    packages = venv / "lib" / f"python{version}" / "site-packages"
    assert packages.is_dir()
    if with_tools:
        (packages / "tools.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    if dependency is not None:
        (packages / "tinydep.py").write_text(dependency)
    return venv


@pytest.mark.slow
async def test_the_projects_venv_runs_the_code_and_its_dependency(repo) -> None:
    repo.commit({".gitignore": ".venv/\n", "README.md": "demo\n"}, "start")
    sha = repo.commit({"codec.py": CODEC}, "codec")
    venv = make_venv(repo.path, with_tools=True, dependency="SHIFT = 3\n")
    with pytest.raises(subprocess.CalledProcessError):  # controlroom's own cannot import it
        subprocess.run([sys.executable, "-c", "import tinydep"], check=True, capture_output=True)

    output = await analyze(repo.path, sha)
    env = output.metrics["environment"]
    assert env["source"] == "repository .venv" and env["python"] == str(venv / "bin" / "python")
    assert str(venv) in env["prefixes"]
    encode = by_symbol(output)["encode"]
    assert encode.rule == "TEST001" and encode.suggested_fix is not None
    assert encode.extra["validation"]["status"] == "passed"
    assert encode.extra["environment"]["source"] == "repository .venv"
    killed = encode.extra["mutation"]["killed"]
    assert killed["diff"].count("\n-") == 1 and killed["run"]["status"] != "passed"
    assert output.metrics["offered"] == 2 and output.metrics["sandbox"] == "bubblewrap"


async def test_a_missing_dependency_is_said_once(repo) -> None:
    code = "import nosuchdep_zz\n\n\n" + MIXED
    sha = repo.commit({"mixed.py": code}, "mixed")
    output = await analyze(repo.path, sha)
    problems = [f for f in output.findings if f.rule == "TEST003"]
    assert len(problems) == 1
    assert "dependencies missing: nosuchdep_zz" in problems[0].message
    assert "tests.python" in problems[0].message
    assert problems[0].extra["missing_modules"] == ["nosuchdep_zz"]
    # Not in the code at its location: never resolved by a later analysis's silence (flask 3.1.1
    # resolved it although its environment still lacked the dependency).
    assert problems[0].extra["about_change"] is True
    assert not [f for f in output.findings if f.rule == "TEST002"]
    others = [f for f in output.findings if f.rule == "TEST001"]
    assert len(others) == 4 and all(f.extra["validation"] is None for f in others)
    assert output.metrics["offered"] == 0


async def test_a_venv_without_pytest_is_said_once(repo) -> None:
    repo.commit({".gitignore": ".venv/\n"}, "start")
    sha = repo.commit({"mixed.py": MIXED}, "mixed")
    venv = make_venv(repo.path, with_tools=False)
    output = await analyze(repo.path, sha)
    problems = [f for f in output.findings if f.rule == "TEST003"]
    assert len(problems) == 1
    assert f"environment at {venv} lacks pytest and hypothesis" in problems[0].message
    assert output.metrics["generated"] == 0


@pytest.mark.slow
async def test_only_a_test_that_kills_a_mutant_is_offered(repo) -> None:
    sha = repo.commit({"mixed.py": MIXED}, "mixed")
    output = await analyze(repo.path, sha)
    found = by_symbol(output)

    label = found["label"]  # label(2) == "positive" observed: `return ""` fails it
    assert label.suggested_fix is not None and label.extra["property"] == "observed"
    assert "assert result == 'positive'" in label.suggested_fix

    # An address in the observed value: different at every run, so the observed test fails at
    # the commit itself. Not a possible bug, not offered.
    stamp = found["stamp"]
    assert stamp.rule == "TEST001" and stamp.suggested_fix is None
    assert stamp.extra["property"] == "observed"
    assert stamp.extra["not_offered"].startswith("the generated test errored: AssertionError")
    assert output.metrics["possible_bugs"] == 0

    encode = found["encode"]  # the roundtrip notices `return []`
    assert encode.suggested_fix is not None and encode.extra["property"] == "roundtrip"
    killed = encode.extra["mutation"]["killed"]
    assert "-> `return []`" in killed["mutant"] and "+    return []" in killed["diff"]
    assert "catches the mutant" in encode.message
    assert output.metrics["offered"] == 3
    assert output.metrics["environment"]["source"] == "controlroom's own"


def test_mutants_change_only_the_function() -> None:
    source = "import os  # kept\n\n" + MIXED
    made = mutants(source, "label", 8)
    assert [m.kind for m in made] == ["return", "compare", "branch", "return"]
    assert made[1].description == "line 4: `n > 0` -> `n <= 0`"
    for mutant in made:
        assert mutant.source.startswith("import os  # kept\n")
        assert mutant.source.endswith(MIXED[MIXED.index("def encode") :])
    assert mutants(source, "nothing", 8) == [] and len(mutants(source, "label", 2)) == 2


def test_a_tracked_or_linked_venv_is_not_used(tmp_path, repo) -> None:
    make_venv(repo.path, with_tools=False)
    assert find_environment(repo.path, {})[0].source == "repository .venv"
    repo.commit({"x.py": ""}, "tracks .venv")
    env, notes = find_environment(repo.path, {})
    assert env.source == "controlroom's own"
    assert notes == ["tests: repository .venv not used: it is part of the repository's commits"]
    configured = find_environment(repo.path, {"python": sys.executable})[0]
    assert configured.source == "tests.python" and configured.python == sys.executable


async def test_an_approved_task_never_commits_a_too_weak_test(tmp_path) -> None:
    from controlroom.agents.testgen.fix import apply_generated_test
    from controlroom.core.model import Severity, Task, TaskState
    from controlroom.core.queue import FindingRecord

    code = "import mixed\n\n\ndef test_label():\n    assert isinstance(mixed.label(1), str)\n"
    extra = {"test_code": code, "module": "mixed", "not_offered": "too weak: ..."}
    finding = FindingRecord(
        "c0ffee", "tests", "TEST001", "low", "mixed.py", 1, "m", "s", None, 0.6, "label", "f", extra
    )
    task = Task(
        1, "f", TaskState.APPROVED, 1, 0.6, "", Severity.LOW, "TEST001", "mixed.py", 1, "m",
        ["tests"], "label", None, "c0ffee", "c0ffee", 1, 0.0, 0.0,
    )  # fmt: skip
    (tmp_path / "mixed.py").write_text(MIXED)
    assert await apply_generated_test(task, [finding], tmp_path, {"timeout": 30.0}) is None
    assert not (tmp_path / "tests").exists()


@pytest.mark.slow
async def test_examples_from_call_sites_and_doctests_make_a_test_that_kills(repo) -> None:
    """``clamp`` has no annotations (no property to assert), but the project calls it with
    literals and its docstring has an example: the observed results become an example test."""
    repo.commit({"README.md": "demo\n"}, "start")
    clamp = (
        "def clamp(value, low, high):\n"
        '    """Bound value.\n\n    >>> clamp(15, 0, 10)\n    10\n    """\n'
        "    if value < low:\n"
        "        return low\n"
        "    return min(value, high)\n"
    )
    sha = repo.commit(
        {
            "pkg/__init__.py": "",
            "pkg/bounds.py": clamp,
            "app.py": "from pkg.bounds import clamp\n\nLEVEL = clamp(-3, 0, 10)\n",
        },
        "clamp",
    )
    output = await analyze(repo.path, sha)
    found = by_symbol(output)["clamp"]
    assert found.extra["property"] == "examples" and found.suggested_fix is not None
    assert "((15, 0, 10), {}, 10)," in found.suggested_fix
    assert "((-3, 0, 10), {}, 0)," in found.suggested_fix
    assert found.extra["mutation"]["killed"] is not None
