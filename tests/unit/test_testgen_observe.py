"""Tests of observed behaviour: for functions without a property, offered only when they kill a mutant.

Real temporary projects, the real sandbox: the receiver and arguments come from the project's own
constructor calls and annotations, the assertions from what the call did at the commit.
"""

from __future__ import annotations

import ast

import pytest

from controlroom.agents.testgen.examples import builders_in_texts, examples_in_texts
from controlroom.agents.testgen.mutants import has_mutant, mutants
from controlroom.agents.testgen.static import FunctionInfo
from tests.unit.test_testgen_agent import analyze, by_symbol

# A registry whose constructor needs a name (given only by a literal call elsewhere in the
# project), sources typed with a project class, a base hook whose default is None, an error of the
# project's own, and a method whose only effect is on private state.
REGISTRY = '''\
from __future__ import annotations


class RegistryError(Exception):
    """A name the registry does not know."""


class Source:
    def __init__(self, label: str = "default") -> None:
        self.label = label


class Registry:
    def __init__(self, name: str, strict: bool = False) -> None:
        self.name = name
        self.strict = strict
        self.sources: list[Source] = []
        self._cache: dict[str, str] = {}

    def add_source(self, source: Source) -> None:
        """Add a source to look names up in."""
        self.sources.append(source)

    def describe(self, source: Source) -> str | None:
        """A description of ``source`` for help texts; subclasses may provide one."""

    def require(self, key: str) -> str:
        if key not in self._cache:
            raise RegistryError(key)
        return self._cache[key]

    def forget(self) -> None:
        self._cache.clear()

    def reset(self) -> None:
        """Nothing to do in the base class."""
'''

APP = """\
from plugins.registry import Registry

DEFAULT = Registry("main")
"""


@pytest.mark.slow
async def test_observed_tests_are_offered_only_when_they_kill_a_mutant(repo) -> None:
    repo.commit({"README.md": "demo\n"}, "start")
    sha = repo.commit(
        {"plugins/__init__.py": "", "plugins/registry.py": REGISTRY, "plugins/app.py": APP},
        "a registry",
    )
    output = await analyze(repo.path, sha)
    found = by_symbol(output)

    # The receiver is built with the project's own literal call; the argument by its annotation.
    add = found["Registry.add_source"]
    assert add.extra["property"] == "observed", add.extra
    assert add.suggested_fix is not None, add.extra.get("not_offered")
    code = add.suggested_fix
    ast.parse(code)
    assert "instance = plugins.registry.Registry('main')" in code
    assert "source = plugins.registry.Source()" in code
    assert "assert instance.sources == [source]" in code
    assert "isinstance" not in code
    assert add.extra["validation"]["status"] == "passed"
    assert add.extra["mutation"]["killed"]["kind"] == "statement"

    # A hook that returns None unless overridden: killed by the mutant that returns a string.
    describe = found["Registry.describe"]
    assert describe.suggested_fix is not None, describe.extra.get("not_offered")
    assert "assert result is None" in describe.suggested_fix
    assert describe.extra["mutation"]["killed"]["mutant"].endswith('`return ""`')

    # The project's own exception, raised for the placeholder key: pytest.raises with its class.
    require = found["Registry.require"]
    assert require.suggested_fix is not None, require.extra.get("not_offered")
    assert "with pytest.raises(plugins.registry.RegistryError):" in require.suggested_fix

    # Only private state changes: nothing observable to assert, nothing offered.
    forget = found["Registry.forget"]
    assert forget.suggested_fix is None
    assert forget.extra.get("test_code") is None
    # No statement at all: no mutant, so no child is started and nothing can be offered.
    reset = found["Registry.reset"]
    assert reset.suggested_fix is None
    assert reset.extra["not_offered"].startswith("no property to assert")
    assert reset.extra.get("validation") is None


async def test_made_up_inputs_that_fail_or_paths_of_the_run_give_no_test(repo) -> None:
    sha = repo.commit(
        {
            "calc.py": (
                "def halve(count: int):\n"
                "    half = count // 2\n"
                "    if count == 2:\n"
                "        raise ValueError('odd')\n"
                "    return half\n"
            ),
            "where.py": (
                "import os\n\n\n"
                "def locate(name: str):\n"
                "    return os.path.join(os.getcwd(), name)\n"
            ),
        }
    )
    output = await analyze(repo.path, sha)
    halve = by_symbol(output)["halve"]
    # The placeholder 2 hits a builtin ValueError: the inputs, not the code, are
    # suspect, so no test is written from that call.
    assert halve.suggested_fix is None
    assert halve.extra.get("property") != "observed"
    # A path of the sandbox's worktree would differ in every checkout: never asserted.
    locate = by_symbol(output)["locate"]
    assert locate.suggested_fix is None and locate.extra.get("test_code") is None


def test_a_fall_through_hook_annotated_optional_has_a_mutant() -> None:
    source = (
        "class Base:\n"
        "    def metavar(self, param) -> str | None:\n"
        '        """Subclasses may name it."""\n\n'
        "    def count(self) -> 'Optional[int]':\n"
        "        pass\n\n"
        "    def flag(self) -> bool | None:\n"
        '        """Maybe."""\n\n'
        "    def explicit(self) -> str | None:\n"
        "        return None\n\n"
        "    def done(self) -> None:\n"
        '        """Nothing."""\n\n'
        "    def fails(self) -> str | None:\n"
        "        raise KeyError\n"
    )
    (made,) = mutants(source, "Base.metavar", 8)
    assert made.kind == "return" and made.description.endswith('`return ""`')
    assert "+    return ''" in made.diff
    compile(made.source, "m.py", "exec")
    assert [m.description.split(": ", 1)[1] for m in mutants(source, "Base.count", 8)] == [
        "`(returns None)` -> `return 0`"
    ]
    assert "`return True`" in mutants(source, "Base.flag", 8)[0].description
    assert mutants(source, "Base.explicit", 8) == []  # already a constant: nothing to change
    assert has_mutant(source, "Base.metavar")
    assert not has_mutant(source, "Base.done")  # None is all it can return
    assert has_mutant(source, "Base.fails")  # the raise, as a statement mutant
    assert all("returns None" not in m.description for m in mutants(source, "Base.fails", 8))


def test_call_shapes_come_from_the_whole_project_for_its_own_classes() -> None:
    texts = {
        "pkg/core.py": ("class Option:\n    pass\n\nclass Group:\n    def add(self, name): ...\n"),
        "pkg/cli.py": "import pkg\nMAIN = pkg.Group('cli')\nother = Group(name=key)\n",
        "tests/test_core.py": (
            "import pkg\n\n"
            "class Helper:\n    pass\n\n"
            "def test_it():\n"
            "    opt = pkg.Option(['--name'], default=1)\n"
            "    Helper(1)\n"
            "    g = pkg.Group('x')\n"
            "    g.add('first')\n"
        ),
    }
    builders = builders_in_texts(texts)
    assert builders["Group"] == [["('cli',)", "{}"], ["('x',)", "{}"]]
    assert builders["Option"] == [["(['--name'],)", "{'default': 1}"]]
    assert "Helper" not in builders  # a class of the tests is not the project's
    add = FunctionInfo("pkg/core.py", "pkg.core", "", "Group.add", 5, 5, "", True, False, (5,))
    assert examples_in_texts(texts, [add]) == {"pkg.core.Group.add": [["('first',)", "{}"]]}
