"""The tests agent's "is it tested" step on real repositories (no generation: fast)."""

from __future__ import annotations

from pathlib import Path

import coverage
import pytest

from controlroom.agents.testgen.agent import TestGeneratorAgent
from controlroom.agents.testgen.index import module_usage
from controlroom.agents.testgen.static import is_test_path, module_name
from controlroom.core.git import GitRepository
from controlroom.core.model import AgentContext, AgentOutput

PKG = {
    "pkg/__init__.py": "from .ops import scale as rescale\n",
    "pkg/ops.py": (
        "def add(a: int, b: int) -> int:\n"
        "    return a + b\n"
        "\n\n"
        "def scale(x: int, k: int = 2) -> int:\n"
        "    return x * k\n"
        "\n\n"
        "def _private(x):\n"
        "    return x\n"
        "\n\n"
        "class Meter:\n"
        "    def __init__(self) -> None:\n"
        "        self.total = 0\n"
        "\n"
        "    def record(self, n: int) -> int:\n"
        "        self.total += n\n"
        "        return self.total\n"
        "\n"
        "    @property\n"
        "    def value(self) -> int:\n"
        "        return self.total\n"
    ),
}


async def analyze(repo_path: Path, sha: str, **config) -> AgentOutput:
    git = GitRepository(repo_path)
    change = git.changeset(sha)
    ctx = AgentContext(
        repo_path=repo_path, config={"generate": False, **config}, worktree_factory=git.worktree
    )
    return await TestGeneratorAgent().analyze(change, ctx)


def flagged(output: AgentOutput) -> set[str]:
    return {f.symbol or "" for f in output.findings}


def test_module_names_follow_packages_in_the_tree() -> None:
    inits = {"src/pkg/__init__.py", "src/pkg/sub/__init__.py"}
    assert module_name("src/pkg/sub/m.py", inits) == ("src", "pkg.sub.m")
    assert module_name("src/pkg/__init__.py", inits) == ("src", "pkg")
    assert module_name("tool.py", inits) == ("", "tool")
    assert is_test_path("tests/helpers.py") and is_test_path("pkg/ops_test.py")
    assert not is_test_path("pkg/testing.py")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from pkg.ops import add\nadd(1, 2)\n", "pkg.ops.add"),
        ("import pkg.ops as o\no.add(1, 2)\n", "pkg.ops.add"),
        ("from pkg import ops\nops.add(1, 2)\n", "pkg.ops.add"),
        ("import pkg.ops\npkg.ops.add(1, 2)\n", "pkg.ops.add"),
        ("from pkg.ops import Meter\nMeter().record(3)\n", "pkg.ops.Meter.record"),
        ("from pkg.ops import Meter\nm = Meter()\nm.record(3)\n", "pkg.ops.Meter.record"),
        ("from ..ops import add\nadd(1, 2)\n", "pkg.ops.add"),
        ("from pkg.ops import add\nself.assertRaises(TypeError, add, 1)\n", "pkg.ops.add"),
    ],
)
def test_calls_resolve_through_imports(source: str, expected: str) -> None:
    usage = module_usage(source, "pkg.tests")
    assert usage is not None
    assert expected in usage.called


async def test_a_word_is_not_a_call(repo) -> None:
    sha = repo.commit(
        {
            **PKG,
            "tests/test_words.py": (
                "# add and scale are mentioned here, and an unrelated add is called\n"
                "from operator import add\n\n"
                "def test_words():\n"
                "    assert add(1, 2) == 3\n"
                "    assert 'scale' in 'pkg.ops.scale'\n"
            ),
        }
    )
    output = await analyze(repo.path, sha)
    assert {"add", "scale"} <= flagged(output)


async def test_untested_function_is_flagged_and_tested_one_is_not(repo) -> None:
    repo.commit(PKG, "package")
    sha = repo.commit(
        {
            "tests/test_ops.py": (
                "from pkg.ops import add, Meter\n\n"
                "def test_add():\n    assert add(1, 2) == 3\n\n"
                "def test_meter():\n    m = Meter()\n    assert m.record(2) == 2\n"
            ),
            "pkg/ops.py": PKG["pkg/ops.py"] + "\n\ndef halve(x: int) -> int:\n    return x // 2\n",
        },
        "tests and a new function",
    )
    output = await analyze(repo.path, sha)
    assert flagged(output) == {"halve"}
    finding = output.findings[0]
    assert finding.rule == "TEST001" and finding.severity == "low"
    assert finding.snippet == "def halve(x: int) -> int:"
    assert finding.extra["function"] == "pkg.ops.halve"
    assert finding.extra["not_offered"].startswith("generation is switched off")
    # add, Meter.record tested; scale and halve not: 2 of 4 public functions.
    figure = output.metrics["test_coverage"]["modules"]["pkg/ops.py"]
    assert figure == {"pct": 50.0, "covered": 2, "total": 4, "unit": "functions"}
    assert output.metrics["untested"] == 1 and output.metrics["test_coverage"]["mode"] == "static"


async def test_reexported_names_and_only_changed_functions(repo) -> None:
    repo.commit({**PKG, "tests/test_a.py": "import pkg\n\ndef test():\n    pkg.rescale(3)\n"})
    sha = repo.commit(
        {"pkg/ops.py": PKG["pkg/ops.py"].replace("return x * k", "return k * x")}, "scale"
    )
    output = await analyze(repo.path, sha)
    assert output.findings == []  # scale changed, and is called as pkg.rescale
    assert output.metrics["changed_functions"] == 1


async def test_names_a_package_star_imports_are_reached_through_its_alias(repo) -> None:
    """``from .ops import *`` in ``pkg/__init__`` and ``import pkg as p; p.scale(...)``,
    ``p.Meter().record(...)`` in a test (more-itertools' layout): both are tested."""
    test = "import pkg as p\n\ndef test():\n    p.scale(3)\n    p.Meter().record(1)\n"
    repo.commit({**PKG, "pkg/__init__.py": "from .ops import *\n", "tests/test_a.py": test})
    ops = PKG["pkg/ops.py"].replace("return x * k", "return k * x")
    sha = repo.commit({"pkg/ops.py": ops.replace("self.total += n", "self.total += n * 1")}, "edit")
    output = await analyze(repo.path, sha)
    assert output.findings == []  # scale and Meter.record changed, and are called as p.*


async def test_tests_are_read_at_the_commit_not_from_the_working_tree(repo) -> None:
    sha = repo.commit(PKG, "package")
    repo.write({"tests/test_ops.py": "from pkg.ops import add\n\ndef test():\n    add(1, 2)\n"})
    output = await analyze(repo.path, sha)
    assert "add" in flagged(output)


async def test_dunder_all_limits_public_names(repo) -> None:
    sha = repo.commit(
        {
            "lib.py": "__all__ = ['kept']\n\ndef kept(x: int) -> int:\n    return x\n\n"
            "def helper(x: int) -> int:\n    return x\n"
        }
    )
    output = await analyze(repo.path, sha)
    assert flagged(output) == {"kept"}


async def test_coverage_data_decides_when_present(repo) -> None:
    sha = repo.commit(PKG, "package")
    data = coverage.CoverageData(basename=str(repo.path / ".coverage"))
    ops = str((repo.path / "pkg/ops.py").resolve())
    data.add_lines({ops: [1, 2, 5, 9, 13, 14, 17, 21]})  # add's body ran; scale's did not
    data.write()
    output = await analyze(repo.path, sha)
    assert "add" not in flagged(output)
    assert {"scale", "Meter.record"} <= flagged(output)
    test_coverage = output.metrics["test_coverage"]
    assert test_coverage["mode"] == "coverage" and test_coverage["unit"] == "lines"
    figure = test_coverage["modules"]["pkg/ops.py"]
    assert 0 < figure["pct"] < 100 and figure["unit"] == "lines"
    assert output.findings[0].extra["coverage"]["mode"] == "coverage"
    static = await analyze(repo.path, sha, use_coverage=False)
    assert "add" in flagged(static)


async def test_parsed_test_modules_are_kept_in_the_store_cache(repo, store) -> None:
    from controlroom.agents.testgen.find import _USAGE_CACHE
    from controlroom.core.pipeline import StoreAgentCache

    sha = repo.commit(
        {**PKG, "tests/test_ops.py": "from pkg.ops import add\n\ndef test():\n    add(1, 2)\n"}
    )
    git = GitRepository(repo.path)
    cache = StoreAgentCache(store, "tests")
    ctx = AgentContext(repo_path=repo.path, config={"generate": False}, cache=cache)
    first = await TestGeneratorAgent().analyze(git.changeset(sha), ctx)
    assert "add" not in flagged(first) and "scale" in flagged(first)
    bundle = await cache.get("test_module_usages")
    (key,) = [k for k in bundle if k.endswith(":tests/test_ops.py")]
    # A new process starts with an empty memory cache and reads what the store holds.
    _USAGE_CACHE.clear()
    bundle[key] = {"called": ["pkg.ops.add", "pkg.ops.scale"], "referenced": []}
    await cache.put("test_module_usages", bundle)
    second = await TestGeneratorAgent().analyze(git.changeset(sha), ctx)
    assert "scale" not in flagged(second)


def test_the_parent_reads_the_ghostwriters_name_tables_without_importing_hypothesis():
    """Deciding which functions get a child must not import Hypothesis and black (~0.2 s on
    every commit); the round-trip patterns read from its source are the ones it uses."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from controlroom.agents.testgen import ghost\n"
        "pairs = ghost.roundtrip_pairs()\n"
        "print(any(m.split('.')[0] in ('hypothesis', 'black') for m in sys.modules))\n"
        "from hypothesis.extra import ghostwriter\n"
        "print(pairs == tuple(ghostwriter.ROUNDTRIP_PAIRS) and len(pairs) > 3)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


async def test_a_distinctive_method_called_on_a_decorator_made_object_counts_as_tested(repo):
    """``@cli.result_callback()`` on an object a decorator made: the receiver cannot be
    resolved, but a method name no other kind of object has says which method it is; a name
    every container has (``update``) says nothing."""
    repo.commit({"pkg/__init__.py": "", "pkg/cmd.py": "X = 1\n"}, "package")
    source = (
        "class Group:\n"
        "    def result_callback(self, fn=None):\n"
        "        return fn\n\n"
        "    def update(self, other):\n"
        "        return other\n\n\n"
        "def group(fn):\n"
        "    return Group()\n"
    )
    test = (
        "from pkg.cmd import group\n\n"
        "def test_callback():\n"
        "    @group\n"
        "    def cli():\n"
        "        pass\n\n"
        "    @cli.result_callback()\n"
        "    def done(value):\n"
        "        return value\n\n"
        "    cli.update({})\n"
    )
    sha = repo.commit({"pkg/cmd.py": source, "tests/test_cmd.py": test}, "group")
    output = await analyze(repo.path, sha)
    assert flagged(output) == {"Group.update"}


async def test_a_method_called_through_an_attribute_chain_counts_as_tested(repo):
    """``app.config.from_env()``: the chain resolves by name to ``App.config.from_env``, which
    is no function; the distinctive method name still says ``Config.from_env`` is called."""
    repo.commit({"pkg/__init__.py": "", "pkg/conf.py": "X = 1\n"}, "package")
    source = (
        "class Config(dict):\n"
        "    def from_env(self, prefix='APP'):\n"
        "        return prefix\n\n"
        "    def keys_from_env(self):\n"
        "        return []\n\n\n"
        "class App:\n"
        "    def __init__(self):\n"
        "        self.config = Config()\n"
    )
    test = (
        "from pkg.conf import App\n\n"
        "def test_config():\n"
        "    app = App()\n"
        "    assert app.config.from_env() == 'APP'\n"
    )
    sha = repo.commit({"pkg/conf.py": source, "tests/test_conf.py": test}, "config")
    output = await analyze(repo.path, sha)
    assert flagged(output) == {"Config.keys_from_env"}


def test_an_offered_test_is_work_to_merge_only_on_strong_evidence() -> None:
    """Medium only when the function surely never ran: coverage data says so, or a module-level
    function no test calls. A method the static index calls untested is usually reached through
    an instance; a one-statement function's test pins one line: both rank as nitpicks."""
    from controlroom.agents.testgen.report import nitpick_reason
    from controlroom.agents.testgen.static import FunctionInfo

    def info(qualname: str, *, method: bool, one: bool = False) -> FunctionInfo:
        return FunctionInfo(
            "pkg/m.py", "pkg.m", "", qualname, 1, 2, "def f():", method, False, (2,),
            one_statement=one,
        )  # fmt: skip

    assert nitpick_reason(info("f", method=False), "static") is None
    assert nitpick_reason(info("C.f", method=True), "coverage") is None
    assert nitpick_reason(info("C.f", method=True), "static") == (
        "a method the suite may reach through an instance"
    )
    assert nitpick_reason(info("f", method=False, one=True), "coverage") == (
        "a one-statement function"
    )


async def test_a_method_name_two_classes_define_is_not_taken_as_a_call_of_either(repo):
    """``app.open_resource()`` reaches Flask's method; Blueprint defines one of the same name,
    which no test calls: a name shared by two classes says nothing about which ran."""
    repo.commit({"pkg/__init__.py": "", "pkg/app.py": "X = 1\n"}, "package")
    source = (
        "class App:\n"
        "    def open_resource(self, name):\n"
        "        return name\n\n\n"
        "class Blueprint:\n"
        "    def open_resource(self, name):\n"
        "        return name\n"
    )
    test = "def test_open(app):\n    assert app.open_resource('x') == 'x'\n"
    sha = repo.commit({"pkg/app.py": source, "tests/test_app.py": test}, "resources")
    output = await analyze(repo.path, sha)
    assert flagged(output) == {"App.open_resource", "Blueprint.open_resource"}
