"""The test writer is given what a person writing the test would open: for a method its class and
constructor, and the nearest existing tests; all of it as repository data in the request."""

from __future__ import annotations

from pathlib import Path

from controlroom.agents.testgen.claude import method_context, nearest_tests, write_test
from controlroom.core.config import load_config
from controlroom.core.llm.assistant import make_assistant_factory
from controlroom.core.store import Store
from tests.fake_anthropic import FAST_LLM, FakeAnthropic, llm_env

SHOP = '''import dataclasses


@dataclasses.dataclass
class Money:
    cents: int


class Cart:
    """A shopping cart."""

    currency = "EUR"

    def __init__(self, prices, *, tax=0.2):
        self.prices = list(prices)
        self.tax = tax

    def total(self):
        return sum(self.prices) * (1 + self.tax)

    def discount(self, percent):
        if not 0 <= percent <= 100:
            raise ValueError("percent")
        return self.total() * (100 - percent) / 100
'''
SHOP_TESTS = (
    "from shop import Cart\n\n\ndef test_total():\n    assert Cart([1], tax=0).total() == 1\n"
)
OTHER_TESTS = "from other import thing\n\n\ndef test_thing():\n    assert thing() == 'UNRELATED'\n"
PASSING = (
    "from shop import Cart\n\n\ndef test_discount():\n"
    "    assert Cart([100], tax=0).discount(10) == 90\n"
)


def test_a_method_gets_its_class_and_constructor() -> None:
    context = method_context(SHOP, "Cart.discount")
    assert context.startswith("class Cart:") and '"""A shopping cart."""' in context
    assert 'currency = "EUR"' in context
    assert "def __init__(self, prices, *, tax=0.2):" in context
    assert "self.prices = list(prices)" in context  # the constructor in full
    assert "def total(self):" in context and "sum(self.prices)" not in context  # signature only
    assert method_context(SHOP, "Money") == ""  # a plain name: no class
    assert method_context("def (:", "Cart.discount") == ""


def test_the_nearest_tests_come_first(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_shop.py").write_text(SHOP_TESTS)
    (tmp_path / "tests" / "test_other.py").write_text(OTHER_TESTS)
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "test_shop.py").write_text("VENDORED")
    shown = nearest_tests(tmp_path, "shop", "Cart.discount")
    assert shown.startswith("# --- tests/test_shop.py") and "def test_total" in shown
    assert "UNRELATED" not in shown and "VENDORED" not in shown
    assert nearest_tests(tmp_path, "nothing", "f") == ""
    assert len(nearest_tests(tmp_path, "shop", "Cart.discount", limit=300)) < 400


async def test_the_request_carries_class_constructor_and_tests_as_data(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_shop.py").write_text(SHOP_TESTS)
    config = load_config(None).with_overrides(FAST_LLM)
    with FakeAnthropic() as fake:
        fake.script(fake.ok({"code": PASSING}))
        factory = make_assistant_factory(config, store, agent_name="tests", env=llm_env(fake))
        code = await write_test(
            factory("tests"),
            module="shop",
            qualname="Cart.discount",
            source="    def discount(self, percent):\n        ...",
            module_text=SHOP,
            root=tmp_path,
        )
        assert code == PASSING and fake.rejected == []
        body = fake.requests[0].body
    user = body["messages"][0]["content"]
    tag = body["system"].split("Everything between <", 1)[1].split(">", 1)[0]
    assert "self.prices = list(prices)" in user and "def test_total" in user
    for text in ("self.prices = list(prices)", "def test_total"):
        at = user.index(text)
        assert user.rfind(f"<{tag}>", 0, at) > user.rfind(f"</{tag}>", 0, at)  # inside a wrapper
    assert "constructor" in body["system"] and "existing tests" in body["system"]


async def test_the_tests_agent_sends_the_class_and_the_nearest_tests(store: Store, repo) -> None:
    from controlroom.agents.testgen.agent import TestGeneratorAgent
    from controlroom.core.git import GitRepository
    from controlroom.core.model import AgentContext

    first = SHOP.split("    def discount", 1)[0]
    repo.commit({"shop.py": first, "tests/test_shop.py": SHOP_TESTS}, "cart")
    sha = repo.commit({"shop.py": SHOP}, "discount")
    config = load_config(None).with_overrides(FAST_LLM)
    with FakeAnthropic() as fake:
        fake.default = fake.ok({"code": PASSING})
        git = GitRepository(repo.path)
        try:
            ctx = AgentContext(
                repo_path=repo.path,
                config={"timeout": 60.0, "max_examples": 10},
                worktree_factory=git.worktree,
                assistant_factory=make_assistant_factory(
                    config, store, agent_name="tests", env=llm_env(fake)
                ),
            )
            await TestGeneratorAgent().analyze(git.changeset(sha), ctx)
        finally:
            git.close()
        asked = [
            r.body for r in fake.requests if r.body["tools"][0]["name"] == "submit_test_writer"
        ]
    assert asked, "the tests agent did not ask Claude"
    user = asked[0]["messages"][0]["content"]
    assert "Cart.discount" in user
    assert "def __init__(self, prices, *, tax=0.2):" in user and "self.tax = tax" in user
    assert "tests/test_shop.py" in user and "def test_total" in user
