"""The tests agent end to end on real repositories: ghostwritten tests, validated in a worktree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from controlroom.agents.testgen.agent import TestGeneratorAgent
from controlroom.core.git import GitRepository
from controlroom.core.model import AgentContext, AgentOutput, Finding
from controlroom.core.plugins import load_agents

CODE = '''\
def add(a: int, b: int) -> int:
    return a + b


def encode(text: str) -> bytes:
    """Latin-1 with replacement: loses what latin-1 cannot hold (the bug)."""
    return text.encode("latin-1", "replace")


def decode(data: bytes) -> str:
    return data.decode("latin-1")


def shout(word: str):
    return word.upper() + "!"


def pick(items, index: int) -> int:
    return items[index]


def parse_port(text: str):
    """A port number.

    Raises:
        ValueError: when the text is not a number in 1..65535.
    """
    port = int(text)
    if not 0 < port < 65536:
        raise ValueError(text)
    return port


def normalize(text: str) -> str:
    return " ".join(text.split()).lower()


def ratio(a: int, b: int):
    """a / b.

    Raises:
        ZeroDivisionError: when b is 0.
    """
    return a / b
'''


async def analyze(repo_path: Path, sha: str, **config) -> AgentOutput:
    git = GitRepository(repo_path)
    ctx = AgentContext(
        repo_path=repo_path,
        config={"timeout": 30.0, "concurrency": 4, "max_examples": 50, **config},
        worktree_factory=git.worktree,
    )
    return await TestGeneratorAgent().analyze(git.changeset(sha), ctx)


def by_symbol(output: AgentOutput) -> dict[str, Finding]:
    return {f.symbol or "": f for f in output.findings}


@pytest.mark.slow
async def test_generated_tests_are_validated_offered_or_reported(repo) -> None:
    repo.commit({"README.md": "demo\n"}, "start")
    sha = repo.commit({"textops.py": CODE}, "text operations")
    output = await analyze(repo.path, sha)
    found = by_symbol(output)
    assert set(found) == {
        "add",
        "encode",
        "decode",
        "shout",
        "pick",
        "parse_port",
        "normalize",
        "ratio",
    }

    # No property beyond its annotation: the call add(2, 3) observed at the commit is asserted,
    # and the test kills a mutant (an isinstance check would not), so it is offered.
    add = found["add"]
    assert add.rule == "TEST001" and add.suggested_fix is not None
    assert add.extra["validation"]["status"] == "passed"
    assert add.extra["property"] == "observed"
    assert "result = textops.add(2, 3)" in add.suggested_fix
    assert "assert result == 5" in add.suggested_fix
    assert "isinstance" not in add.suggested_fix
    assert add.extra["mutation"]["killed"]
    ast.parse(add.extra["test_code"])

    # The roundtrip fails: a possible bug, with Hypothesis's failing example, nothing offered.
    encode = found["encode"]
    assert encode.rule == "TEST002" and encode.severity == "medium"
    assert encode.suggested_fix is None and encode.extra["property"] == "roundtrip"
    assert encode.extra["validation"]["status"] == "failed"
    assert "text=" in encode.extra["validation"]["failing_example"]
    assert "text=" in encode.message and encode.confidence >= 0.8
    assert found["decode"].rule == "TEST002"

    # Idempotence by name: it passes and is too weak (`return ""` is idempotent too).
    assert found["normalize"].extra["property"] == "idempotent"
    assert found["normalize"].extra["not_offered"].startswith("too weak")
    # Only documented exceptions would be checked: the observed ratio(2, 3) is asserted instead.
    ratio = found["ratio"]
    assert ratio.extra["property"] == "observed" and ratio.suggested_fix is not None
    assert "textops.ratio(2, 3)" in ratio.suggested_fix
    # Text rarely parses as a port: Hypothesis rejects almost everything, so nothing is offered.
    port = found["parse_port"]
    assert port.extra["documented_raises"] == ["builtins.ValueError"]
    assert port.extra["validation"]["status"] == "errored" and port.suggested_fix is None
    assert "FailedHealthCheck" in port.extra["not_offered"]
    # No property for shout, but its behaviour on a placeholder word is observed and asserted:
    # the test kills `return None` (the unannotated constant), so it is offered.
    shout = found["shout"]
    assert shout.extra["property"] == "observed" and shout.suggested_fix is not None
    assert "assert result == 'WORD!'" in shout.suggested_fix
    assert shout.extra["mutation"]["killed"]["kind"] == "return"
    assert "cannot build a strategy" in found["pick"].extra["not_offered"]

    metrics = output.metrics
    assert metrics["untested"] == 8 and metrics["possible_bugs"] == 2
    assert metrics["offered"] == 3 and metrics["too_weak"] == 1
    assert metrics["test_coverage"]["pct"] == 0.0
    assert metrics["validation"] == {"errored": 1, "failed": 2, "passed": 4}  # per function
    assert set(metrics["timings_s"]) == {"resolve", "generate_and_validate", "total"}
    assert "landlock" in add.extra["validation"]["confinement"]


async def test_methods_get_an_instance_and_tested_functions_are_left_alone(repo) -> None:
    sha = repo.commit(
        {
            "shop/__init__.py": "",
            "shop/cart.py": (
                "class Cart:\n"
                "    def __init__(self, owner: str = 'anon') -> None:\n"
                "        self.items: list[int] = []\n\n"
                "    def add(self, price: int) -> int:\n"
                "        self.items.append(price)\n"
                "        return len(self.items)\n\n"
                "def total(prices: list[int]) -> int:\n"
                "    return sum(prices)\n"
            ),
            "tests/test_cart.py": (
                "from shop.cart import total\n\ndef test_total():\n    assert total([1]) == 1\n"
            ),
        }
    )
    output = await analyze(repo.path, sha)
    assert set(by_symbol(output)) == {"Cart.add"}
    method = by_symbol(output)["Cart.add"]
    assert method.extra["validation"]["status"] == "passed", method.extra["validation"]
    # Built as the project builds it; the return value and the changed public state asserted.
    code = method.extra["test_code"]
    assert "instance = shop.cart.Cart()" in code and "instance.add(2)" in code
    assert "assert result == 1" in code and "assert instance.items == [2]" in code


async def test_registered_as_the_tests_agent_and_quiet_without_python_changes(repo) -> None:
    (agent,) = load_agents(["tests"])
    assert isinstance(agent, TestGeneratorAgent) and agent.name == "tests"
    sha = repo.commit({"notes.txt": "hello\n"})
    output = await analyze(repo.path, sha)
    assert output.findings == [] and output.metrics["untested"] == 0
    assert output.metrics["test_coverage"]["pct"] is None
