"""The docs agent on real git repositories: coverage, stale/undocumented parts, generated fixes."""

from __future__ import annotations

import ast
import subprocess
import textwrap

import pytest

from controlroom.agents.docs.agent import DocWriterAgent
from controlroom.core.git import GitRepository
from controlroom.core.model import AgentContext


async def analyze(repo, sha: str, *, analyze_all: bool = False, config=None):
    change = GitRepository(repo.path).changeset(sha)
    ctx = AgentContext(repo_path=repo.path, config=config or {}, analyze_all=analyze_all)
    return await DocWriterAgent().analyze(change, ctx)


def by_rule(output, rule: str):
    return [f for f in output.findings if f.rule == rule]


STALE = {
    "google": '''
        def area(width, height):
            """Area of a rectangle.

            Args:
                width: The width.
                depth: The depth, renamed long ago.

            Returns:
                The area.
            """
            return width * height
        ''',
    "numpy": '''
        def area(width, height):
            """Area of a rectangle.

            Parameters
            ----------
            width : float
                The width.
            depth : float
                The depth, renamed long ago.

            Returns
            -------
            float
            """
            return width * height
        ''',
    "sphinx": '''
        def area(width, height):
            """Area of a rectangle.

            :param width: The width.
            :param depth: The depth, renamed long ago.
            :returns: The area.
            """
            return width * height
        ''',
}


@pytest.mark.parametrize("style", sorted(STALE))
async def test_a_stale_parameter_is_flagged_in_each_style(repo, style):
    sha = repo.commit({"geo.py": '"""Geometry."""\n' + textwrap.dedent(STALE[style])})
    out = await analyze(repo, sha)
    stale = by_rule(out, "DOC102")
    assert len(stale) == 1
    assert stale[0].extra["stale"] == ["depth"]
    assert stale[0].extra["style"] == style
    assert stale[0].symbol == "area"
    assert stale[0].severity.value == "medium"
    undocumented = by_rule(out, "DOC103")
    assert undocumented and undocumented[0].extra["undocumented"] == ["height"]
    assert not by_rule(out, "DOC100")


async def test_missing_returns_and_raises_are_flagged(repo):
    source = '''\
        """Money."""


        def parse_amount(text: str) -> int:
            """Parse an amount.

            Args:
                text: Digits.
            """
            if not text.isdigit():
                raise ValueError(text)
            return int(text)
        '''
    sha = repo.commit({"money.py": textwrap.dedent(source)})
    out = await analyze(repo, sha)
    assert [f.symbol for f in by_rule(out, "DOC104")] == ["parse_amount"]
    raised = by_rule(out, "DOC105")
    assert raised and raised[0].extra["undocumented_raises"] == ["ValueError"]
    assert not by_rule(out, "DOC102") and not by_rule(out, "DOC103")


async def test_a_summary_only_docstring_is_not_checked_for_sections(repo):
    sha = repo.commit({"m.py": '"""M."""\n\n\ndef f(a, b):\n    """Add."""\n    return a + b\n'})
    out = await analyze(repo, sha)
    assert out.findings == []
    assert out.metrics["doc_coverage"] == 100.0


SOURCE_WITHOUT_DOCS = '''\
"""Shop."""

import functools


class Cart:
    """A cart."""

    def __init__(self):
        self.items = []

    @functools.lru_cache(maxsize=None)
    def total(
        self,
        discount: float = 0.0,
        *extra,
        currency: str = "EUR",
    ) -> float:
        # the sum of prices
        if discount < 0:
            raise ValueError("negative discount")
        return sum(self.items) - discount


def _private():
    return 1


async def fetch_price(sku, retries=3):
    return retries
'''


async def test_missing_docstrings_get_google_docstrings_whose_diffs_apply(repo):
    sha = repo.commit({"shop.py": SOURCE_WITHOUT_DOCS})
    out = await analyze(repo, sha)
    missing = {f.symbol: f for f in by_rule(out, "DOC100")}
    assert set(missing) == {"Cart.total", "fetch_price"}  # private and dunder are not public API
    total = missing["Cart.total"]
    body = total.extra["docstring"]
    assert body.splitlines()[0] == "Return ``sum(self.items) - discount``."  # from the code
    assert "Args:" in body and "discount (float): Optional; defaults to ``0.0``." in body
    assert "*extra: Extra positional arguments." in body
    assert "currency (str): Optional; defaults to ``'EUR'``." in body
    assert "Returns:\n    float: The value of ``sum(self.items) - discount``." in body
    assert "Raises:\n    ValueError: If ``discount < 0``." in body
    for finding in missing.values():
        patch = repo.path / "fix.patch"
        patch.write_text(finding.suggested_fix, encoding="utf-8")
        repo.git("apply", "--check", "fix.patch")
    # Applying one fix gives a module whose function has exactly the generated docstring.
    (repo.path / "fix.patch").write_text(total.suggested_fix, encoding="utf-8")
    repo.git("apply", "fix.patch")
    tree = ast.parse((repo.path / "shop.py").read_text(encoding="utf-8"))
    cart = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    method = next(n for n in cart.body if getattr(n, "name", "") == "total")
    assert ast.get_docstring(method) == body


async def test_a_fix_applies_to_a_file_without_a_final_newline_and_with_tabs(repo):
    source = '"""Tabs."""\n\n\nclass Box:\n\t"""A box."""\n\n\tdef size(self, scale):\n\t\treturn 2 * scale'
    sha = repo.commit({"box.py": source})
    out = await analyze(repo, sha)
    (finding,) = by_rule(out, "DOC100")
    (repo.path / "fix.patch").write_text(finding.suggested_fix, encoding="utf-8")
    repo.git("apply", "fix.patch")
    fixed = (repo.path / "box.py").read_text(encoding="utf-8")
    assert '\t\t"""Return ``2 * scale``.\n' in fixed
    method = ast.parse(fixed).body[1].body[1]
    assert ast.get_docstring(method).startswith(
        "Return ``2 * scale``.\n\nArgs:\n    scale: Required."
    )


async def test_only_changed_objects_are_flagged_but_coverage_counts_the_module(repo):
    repo.commit(
        {"lib.py": '"""Lib."""\n\n\ndef old(a):\n    return a\n\n\ndef kept(b):\n    return b\n'}
    )
    sha = repo.commit(
        {
            "lib.py": '"""Lib."""\n\n\ndef old(a):\n    return a + 1\n\n\ndef kept(b):\n    return b\n'
        }
    )
    out = await analyze(repo, sha)
    assert [f.symbol for f in out.findings] == ["old"]
    assert out.metrics["public"] == 3  # the module and two functions
    assert out.metrics["documented"] == 1
    assert out.metrics["doc_coverage"] == pytest.approx(33.3)
    assert out.metrics["per_module"]["lib.py"] == {"public": 3, "documented": 1, "coverage": 33.3}
    whole = await analyze(repo, sha, analyze_all=True)
    assert sorted(f.symbol for f in whole.findings) == ["kept", "old"]


async def test_a_body_on_the_def_line_gets_a_docstring_but_no_diff(repo):
    sha = repo.commit({"one.py": '"""One."""\n\n\ndef ident(x): return x\n'})
    out = await analyze(repo, sha)
    (finding,) = by_rule(out, "DOC100")
    assert finding.suggested_fix is None
    assert finding.extra["no_fix_reason"] == "the body starts on the definition's line"
    assert finding.extra["docstring"].startswith("Return ``x``.")


async def test_a_file_that_does_not_parse_is_a_note_not_a_crash(repo):
    sha = repo.commit({"broken.py": "def f(:\n", "ok.py": '"""Ok."""\n'})
    out = await analyze(repo, sha)
    assert out.notes == ["broken.py: not parsed (syntax error)"]
    assert out.metrics["per_module"] == {"ok.py": {"public": 1, "documented": 1, "coverage": 100.0}}


async def test_excluded_paths_and_test_modules_are_not_scanned(repo):
    sha = repo.commit(
        {
            "tests/unit/test_x.py": "def test_x():\n    pass\n",
            "gen/made.py": "def made():\n    pass\n",
            "a.py": '"""A."""\n',
        }
    )
    out = await analyze(repo, sha, config={"exclude": ["gen/*"]})
    assert list(out.metrics["per_module"]) == ["a.py"]
    out = await analyze(repo, sha, config={"include_tests": True})
    assert sorted(out.metrics["per_module"]) == ["a.py", "gen/made.py", "tests/unit/test_x.py"]


def test_the_agent_is_registered_as_an_entry_point():
    from controlroom.core.plugins import load_agents

    (agent,) = load_agents(["docs"])
    assert isinstance(agent, DocWriterAgent) and agent.name == "docs"


def test_git_apply_rejects_a_tampered_fix(tmp_path, repo):
    """The check used above can fail: a fix against other text does not apply."""
    repo.commit({"m.py": '"""M."""\n\n\ndef f(a):\n    return a\n'})
    from controlroom.agents.docs.docgen import insertion_diff

    lines = ["def g(b):\n", "    return b\n"]
    (repo.path / "bad.patch").write_text(
        insertion_diff("m.py", lines, 1, ['    """G."""\n']), encoding="utf-8"
    )
    with pytest.raises(subprocess.CalledProcessError):
        repo.git("apply", "--check", "bad.patch")
