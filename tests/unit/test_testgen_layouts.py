"""The tests agent on project layouts and code shapes met in real libraries, and the changed-line
coverage of the tests it offers. Real repositories, real ``.venv``s, the real sandbox."""

from __future__ import annotations

import subprocess
import sys

import pytest

from controlroom.agents.testgen import batch
from controlroom.agents.testgen.mutants import mutants
from controlroom.agents.testgen.run import PASSED
from controlroom.agents.testgen.sandbox import GHOST, Limits
from controlroom.agents.testgen.static import module_name
from controlroom.core.git import GitRepository
from tests.unit.test_testgen_agent import analyze, by_symbol
from tests.unit.test_testgen_env import make_venv

CODEC = """\
def encode(values: list[int]) -> list[int]:
    return [v + 3 for v in values]


def decode(values: list[int]) -> list[int]:
    return [v - 3 for v in values]
"""

CART = """\
class Cart:
    def __init__(self) -> None:
        self.items: list[int] = []

    def add_priced_item_with_a_long_name(
        self,
        name: str,
        quantity: int,
        price_in_cents: int,
        discount_in_percent: int = 0,
    ) -> int:
        if quantity > 1000:
            return 0
        return quantity * price_in_cents

    def count(self) -> int:
        return len(self.items)
"""


def test_a_namespace_subpackage_is_part_of_its_package() -> None:
    init = {"src/pkg/__init__.py", "a/b/__init__.py"}
    assert module_name("src/pkg/sub/codec.py", init) == ("src", "pkg.sub.codec")
    assert module_name("a/b/c/d/e.py", init) == ("a", "b.c.d.e")
    assert module_name("src/pkg/m.py", init) == ("src", "pkg.m")
    assert module_name("tools/run.py", init) == ("tools", "run")  # no package above


@pytest.mark.slow
async def test_a_namespace_subpackage_imports_and_gets_a_test(repo) -> None:
    repo.commit({"src/pkg/__init__.py": "", "README.md": "demo\n"}, "start")
    sha = repo.commit({"src/pkg/sub/codec.py": CODEC}, "codec in a namespace subpackage")
    output = await analyze(repo.path, sha)
    encode = by_symbol(output)["encode"]
    assert encode.extra["module"] == "pkg.sub.codec"
    assert encode.extra["validation"]["status"] == "passed", encode.extra["validation"]
    assert encode.suggested_fix is not None and "import pkg.sub.codec" in encode.suggested_fix


@pytest.mark.slow
async def test_methods_with_wrapped_signatures_or_self_alone_get_an_instance(repo) -> None:
    sha = repo.commit({"shop/__init__.py": "", "shop/cart.py": CART}, "cart")
    output = await analyze(repo.path, sha)
    found = by_symbol(output)
    # In the agent the observed call replaces the isinstance-only fuzz test: an instance, no self.
    for symbol in ("Cart.add_priced_item_with_a_long_name", "Cart.count"):
        finding = found[symbol]
        code = finding.extra["test_code"]
        assert finding.extra["validation"]["status"] == "passed", (code, finding.extra)
        assert "instance = shop.cart.Cart()" in code and "self" not in code
    assert "instance.count()" in found["Cart.count"].extra["test_code"]
    # The ghostwriter's own test (what the observation replaced) has its self rewritten too.
    script = (
        "import importlib.util, sys\n"
        f"sys.path.insert(0, {str(repo.path)!r})\n"
        f"spec = importlib.util.spec_from_file_location('g', {str(GHOST)!r})\n"
        "g = importlib.util.module_from_spec(spec); spec.loader.exec_module(g)\n"
        "for name in ('Cart.add_priced_item_with_a_long_name', 'Cart.count'):\n"
        "    print(g._write_property('shop.cart', name)['code'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("instance=st.builds(shop.cart.Cart)") == 2
    assert "self" not in done.stdout and "instance.count()" in done.stdout


@pytest.mark.slow
async def test_an_offered_test_reports_the_changed_lines_it_runs(repo) -> None:
    repo.commit({"codec.py": CODEC.replace("+ 3", "+ 1").replace("- 3", "- 1")}, "start")
    sha = repo.commit({"codec.py": CODEC}, "shift by 3")
    output = await analyze(repo.path, sha)
    encode = by_symbol(output)["encode"]
    assert encode.suggested_fix is not None
    covered = encode.extra["changed_line_coverage"]
    assert covered["status"] == "measured", covered
    assert covered["changed_statements"] == 1 and covered["covered"] == 1
    assert covered["pct"] == 100.0 and covered["missed_lines"] == []
    assert "runs 1 of 1 changed statements" in encode.message
    totals = output.metrics["changed_line_coverage"]
    assert totals["tests_measured"] == 2 and totals["covered"] == totals["changed_statements"] == 2


@pytest.mark.slow
async def test_changed_lines_the_test_does_not_reach_are_listed(repo) -> None:
    """Only the branch an example reaches is covered: the other changed line is missed."""
    clamp = (
        "def clamp(value, low, high):\n"
        '    """>>> clamp(15, 0, 10)\n    10\n    """\n'
        "    if value < low:\n"
        "        return low\n"
        "    return min(value, high)\n"
    )
    old = clamp.replace("min(", "max(").replace("return low", "return high")
    repo.commit({"bounds.py": old}, "start")
    sha = repo.commit({"bounds.py": clamp}, "clamp")  # lines 6 and 7 change; 15 never reaches 6
    output = await analyze(repo.path, sha)
    found = by_symbol(output)["clamp"]
    assert found.suggested_fix is not None, found.extra
    covered = found.extra["changed_line_coverage"]
    assert covered["status"] == "measured"
    assert covered["changed_statements"] == 2 and covered["covered"] == 1
    assert covered["missed_lines"] == [6] and covered["pct"] == 50.0
    assert "runs 1 of 2 changed statements" in found.message


@pytest.mark.slow
async def test_without_coverage_in_the_projects_venv_the_finding_says_so(repo) -> None:
    repo.commit({".gitignore": ".venv/\n", "README.md": "demo\n"}, "start")
    sha = repo.commit({"codec.py": CODEC}, "codec")
    venv = make_venv(repo.path, with_tools=True)
    packages = next((venv / "lib").glob("python*/site-packages"))
    # The venv's own site-packages comes first: coverage.py is not importable there.
    (packages / "coverage.py").write_text("raise ImportError('coverage is not installed')\n")
    output = await analyze(repo.path, sha)
    encode = by_symbol(output)["encode"]
    assert encode.suggested_fix is not None, encode.extra
    covered = encode.extra["changed_line_coverage"]
    assert covered["status"] == "unavailable" and covered["pct"] is None
    assert covered["note"] == f"coverage is not installed in the environment at {venv}/bin/python"
    assert "changed-line coverage not measured: coverage is not installed" in encode.message
    assert output.metrics["changed_line_coverage"]["not_measured"] == 2


IMMUTABLE = """\
import typing as t


def _immutable_error(self: t.Any) -> t.NoReturn:
    raise TypeError(f"{type(self).__name__!r} objects are immutable")


def _not_yet() -> t.NoReturn:
    raise NotImplementedError


class FrozenList:
    def append(self, item: t.Any) -> t.NoReturn:
        _immutable_error(self)

    def grow(self, item: t.Any) -> t.NoReturn:
        _not_yet()
"""


def test_a_call_statement_or_a_raise_can_become_pass() -> None:
    made = mutants(IMMUTABLE, "FrozenList.append", 8)
    assert [m.kind for m in made] == ["statement"]
    assert made[0].description == "line 14: `_immutable_error(self)` -> `pass`"
    assert "-    _immutable_error(self)\n+    pass" in made[0].diff


@pytest.mark.slow
async def test_a_function_that_never_returns_gets_a_raises_test_without_black(repo) -> None:
    """``-> NoReturn`` and a body that only calls a raising helper of the module: the test says it
    raises (what it raises at the commit), and it catches the helper call removed. The project's
    environment has Hypothesis but not black (the ghostwriter's optional formatter)."""
    repo.commit({".gitignore": ".venv/\n", "README.md": "demo\n"}, "start")
    sha = repo.commit({"frozen.py": IMMUTABLE}, "frozen list")
    venv = make_venv(repo.path, with_tools=True)
    packages = next((venv / "lib").glob("python*/site-packages"))
    (packages / "black.py").write_text("raise ImportError('black is not installed')\n")
    output = await analyze(repo.path, sha)
    found = by_symbol(output)
    append = found["FrozenList.append"]
    assert append.suggested_fix is not None, append.extra
    assert append.extra["property"] == "never_returns"
    assert "with pytest.raises(TypeError):" in append.suggested_fix
    assert "frozen.FrozenList().append(None)" in append.suggested_fix
    assert append.extra["mutation"]["killed"]["kind"] == "statement"
    grow = found["FrozenList.grow"]  # NotImplementedError: nothing worth asserting
    assert grow.suggested_fix is None and grow.extra["not_offered"].startswith("no property")


async def test_one_test_file_that_fails_to_import_does_not_rerun_the_batch(
    repo, monkeypatch
) -> None:
    """A collection error in one file of the batch: the others' results come from the same
    run (nothing is run again on its own but, at most, the broken file)."""
    sha = repo.commit({"codec.py": CODEC}, "codec")
    alone: list[str] = []
    real = batch.validate

    async def counted(worktree, box, code, name, *args, **kwargs):
        alone.append(name)
        return await real(worktree, box, code, name, *args, **kwargs)

    monkeypatch.setattr(batch, "validate", counted)
    good = "import codec\n\n\ndef test_{n}():\n    assert codec.encode([1]) == [4]\n"
    async with GitRepository(repo.path).worktree(sha) as tree:
        tests = [
            batch.TestFile(f"good{n}", f"test_good_{n}.py", good.format(n=n), (str(tree),))
            for n in range(3)
        ]
        tests.append(
            batch.TestFile("bad", "test_bad.py", "import no_such_module_x\n", (str(tree),))
        )
        done = await batch.validate_many(tree, tree / ".controlroom-testgen", tests, Limits(), 5, 2)
    assert [done[f"good{n}"].status for n in range(3)] == [PASSED] * 3
    assert done["bad"].status == "errored"
    assert alone in ([], ["test_bad.py"])


@pytest.mark.slow
async def test_a_dict_override_raising_like_dict_is_no_possible_bug(repo) -> None:
    """``popitem()`` on an empty dict raises KeyError: an override that does too is not a bug."""
    code = (
        "class Tracked(dict):\n    def popitem(self) -> tuple:\n        return super().popitem()\n"
    )
    sha = repo.commit({"tracked.py": code}, "tracked dict")
    output = await analyze(repo.path, sha)
    finding = by_symbol(output)["Tracked.popitem"]
    assert finding.rule == "TEST001", finding.message
    assert finding.extra["documented_raises"] == ["builtins.LookupError", "builtins.ValueError"]


GUARDED = """\
import os


class Store:
    def __init__(self, root: str) -> None:
        self.root = root

    def open_file(self, name, mode="rb"):
        \"\"\"Open a file of the store for reading.\"\"\"
        if mode not in {"r", "rb"}:
            raise ValueError("the store is read-only")
        return open(os.path.join(self.root, name), mode)


def set_level(level, *, strict):
    if level < 0:
        raise ValueError(level)
    return level if strict else max(level, 1)
"""


@pytest.mark.slow
async def test_a_function_that_opens_with_an_argument_check_gets_a_guard_test(repo) -> None:
    """No annotations, no examples: the guard at the top is the property. Rejected values are
    made from its literal; the instance is made without ``__init__`` (the guard reads only its
    arguments); the test kills the negated comparison."""
    sha = repo.commit({"store.py": GUARDED}, "store")
    output = await analyze(repo.path, sha)
    found = by_symbol(output)
    opened = found["Store.open_file"]
    assert opened.suggested_fix is not None, opened.extra
    assert opened.extra["property"] == "guard"
    assert "object.__new__(store.Store).open_file(None, mode='invalid')" in opened.suggested_fix
    assert opened.extra["mutation"]["killed"] is not None
    level = found["set_level"]
    assert level.suggested_fix is not None, level.extra
    assert "store.set_level(-1, strict=None)" in level.suggested_fix
    assert "with pytest.raises(ValueError):" in level.suggested_fix
