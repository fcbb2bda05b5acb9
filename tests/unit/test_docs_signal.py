"""[signal] patterns 5 and 6 on real two-commit repositories, through the real docs/tests agents.

Changed in meaning only (not annotations or format); overrides of documented base methods; the
class a ``raise X(...).with_traceback(tb)`` raises; drafts in the project's convention, drawn from
the code (never restating the name), placed after the signature and parsed before being offered.
"""

from __future__ import annotations

import ast
import textwrap

from controlroom.agents.docs.agent import DocWriterAgent
from controlroom.agents.docs.docgen import restates_name
from controlroom.agents.testgen.agent import TestGeneratorAgent
from controlroom.core.git import GitRepository
from controlroom.core.model import AgentContext
from controlroom.core.semantic import changed_definitions


async def docs(repo, sha: str, **config):
    change = GitRepository(repo.path).changeset(sha)
    return await DocWriterAgent().analyze(change, AgentContext(repo_path=repo.path, config=config))


async def run_tests_agent(repo, sha: str):
    git = GitRepository(repo.path)
    ctx = AgentContext(
        repo_path=repo.path, config={"generate": False}, worktree_factory=git.worktree
    )
    return await TestGeneratorAgent().analyze(git.changeset(sha), ctx)


def rule(output, name: str):
    return [f for f in output.findings if f.rule == name]


OLD_API = '''\
"""Text helpers."""

from typing import List, Optional


def clip(text: str, width: Optional[int] = None) -> str:
    return text[:width]


def words(text: str) -> List[str]:
    return text.split()


def count(items: List[str], needle: Optional[str] = None) -> int:
    return sum(1 for i in items if needle is None or i == needle)


def join(parts: List[str], sep: str = ",") -> str:
    return sep.join(parts)


class Box:
    """A box."""

    size: Optional[int] = None

    def grow(self, by: Optional[int] = None) -> Optional[int]:
        self.size = (self.size or 0) + (by or 1)
        return self.size
'''

# The same code with modernised annotations, reformatted, new comments and docstring edits.
NEW_API = '''\
"""Text helpers (modernised)."""

from __future__ import annotations


def clip(
    text: str,
    width: int | None = None,  # no limit by default
) -> str:
    return text[:width]


def words(text: str) -> list[str]:
    return text.split()


def count(
    items: list[str], needle: str | None = None
) -> int:
    return sum(
        1 for i in items if needle is None or i == needle
    )


def join(parts: list[str], sep: str = ",") -> str:
    return sep.join(parts)


class Box:
    """A box, grown on demand."""

    size: int | None = None

    def grow(self, by: int | None = None) -> int | None:
        self.size = (self.size or 0) + (by or 1)
        return self.size
'''


async def test_annotation_only_changes_raise_no_doc_or_test_tasks(repo):
    repo.commit({"pkg/__init__.py": "", "pkg/text.py": OLD_API}, "old release")
    sha = repo.commit({"pkg/text.py": NEW_API}, "modernise annotations")
    assert not (await docs(repo, sha)).findings
    assert not (await run_tests_agent(repo, sha)).findings
    # A body change is a change: the function gets its doc and test tasks as before.
    sha = repo.commit(
        {"pkg/text.py": NEW_API.replace("return text.split()", "return text.split(None)")}
    )
    assert [f.symbol for f in rule(await docs(repo, sha), "DOC100")] == ["words"]
    assert [f.symbol for f in (await run_tests_agent(repo, sha)).findings] == ["words"]


def test_semantic_comparison_ignores_what_does_not_run():
    assert changed_definitions(OLD_API, NEW_API) == frozenset()
    changed = changed_definitions(
        OLD_API, NEW_API.replace("(by or 1)", "(by or 2)") + "\ndef new(): pass\n"
    )
    assert changed == {"Box", "Box.grow", "new"}
    guarded = "if TYPE_CHECKING:\n        from x import T\n    return v\n"
    assert not changed_definitions("def f(v):\n    return v\n", "def f(v: T):\n    " + guarded)
    assert changed_definitions("def f(v):\n    return v\n", "def f(v):\n    return -v\n") == {"f"}


async def test_overrides_of_documented_base_methods_get_no_doc100(repo):
    base = '''\
        """Bases."""


        class Handler:
            """Handles requests."""

            def handle(self, request):
                """Answer ``request``; subclasses override it."""
                raise NotImplementedError
        '''
    repo.commit({"pkg/__init__.py": "", "pkg/base.py": textwrap.dedent(base)})
    impl = '''\
        """Implementations."""

        import threading
        from collections.abc import Mapping

        from .base import Handler


        class Local(Handler):
            """In-module base chain."""


        class Echo(Local):
            """Echoes."""

            def handle(self, request):
                return request


        class Typed(Local[int]):
            """Subscripted base."""

            def handle(self, request):
                return [request]


        class Worker(threading.Thread):
            """A thread."""

            def run(self):
                return None


        class Table(Mapping):
            """A read-only table."""

            def keys(self):
                return sorted(self._rows)


        def new_public(x):
            return x * 2
        '''
    sha = repo.commit({"pkg/impl.py": textwrap.dedent(impl)})
    out = await docs(repo, sha)
    assert [f.symbol for f in rule(out, "DOC100")] == ["new_public"]
    # Echo/Typed.handle (package), Worker.run and Table.keys (stdlib, through a star import)
    assert out.metrics["overrides_skipped"] == 4


async def test_a_raise_with_traceback_names_the_exception_class(repo):
    source = '''\
        """Errors."""


        def load(path, tb):
            """Load ``path``.

            Args:
                path: Where.
                tb: A traceback.
            """
            try:
                return open(path).read()
            except OSError as err:
                if not path:
                    raise ValueError("x").with_traceback(tb)
                if path == "-":
                    raise NotImplementedError
                raise err.with_traceback(tb)
        '''
    sha = repo.commit({"errors.py": textwrap.dedent(source)})
    (finding,) = rule(await docs(repo, sha), "DOC105")
    assert finding.extra["undocumented_raises"] == ["ValueError"]


UNDOCUMENTED = """\
def scale(value: float, factor: float = 2.0) -> float:
    if factor < 0:
        raise ValueError("negative factor")
    return value * factor
"""

DOCUMENTED = {
    "sphinx": '''
def area(width, height):
    """Area of a rectangle.

    :param width: The width.
    :param height: The height.
    :returns: The area.
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
    height : float
        The height.

    Returns
    -------
    float
        The area.
    """
    return width * height
''',
    "google": "",
}


async def test_drafts_follow_the_projects_docstring_convention(make_repo):
    drafts = {}
    for style, existing in DOCUMENTED.items():
        repo = make_repo(style)
        repo.commit({"geo.py": '"""Geometry."""\n' + existing * 3})
        sha = repo.commit({"calc.py": '"""Calc."""\n\n\n' + UNDOCUMENTED})
        (finding,) = rule(await docs(repo, sha), "DOC100")
        drafts[style] = finding.extra["docstring"]
    assert ":param value: Required." in drafts["sphinx"]
    assert ":returns: The value of ``value * factor``." in drafts["sphinx"]
    assert ":raises ValueError: If ``factor < 0``." in drafts["sphinx"]
    assert "Parameters\n----------\nvalue : float\n" in drafts["numpy"]
    assert "Returns\n-------\nfloat\n" in drafts["numpy"]
    assert "Args:\n    value (float): Required." in drafts["google"]
    assert drafts["google"].startswith("Return ``value * factor``.")
    (forced,) = rule(await docs(repo, sha, style="sphinx"), "DOC100")  # docs.style wins
    assert ":param value: Required." in forced.extra["docstring"]


DECORATED = '''\
"""Registry."""

import functools


class Registry:
    @staticmethod
    @functools.cache
    def build(
        first: int,
        second: int = 0,
    ) -> int:
        # the sum
        return first + second
'''


async def test_drafts_go_after_the_signature_never_after_a_decorator(repo):
    sha = repo.commit({"reg.py": DECORATED})
    out = await docs(repo, sha)
    fixes = {f.symbol: f for f in rule(out, "DOC100")}
    assert set(fixes) == {"Registry", "Registry.build"}
    for symbol, finding in fixes.items():
        repo.git("checkout", "--", "reg.py")
        (repo.path / "fix.patch").write_text(finding.suggested_fix, encoding="utf-8")
        repo.git("apply", "fix.patch")
        text = (repo.path / "reg.py").read_text(encoding="utf-8")
        cls = ast.parse(text).body[2]  # parses
        node = cls if symbol == "Registry" else cls.body[0]
        assert ast.get_docstring(node) == finding.extra["docstring"]
    lines = text.splitlines()
    assert (
        lines[lines.index("    ) -> int:") + 1].strip().startswith('"""Return ``first + second``.')
    )
    assert out.metrics["drafts_dropped"] == 0


async def test_a_draft_that_does_not_parse_is_dropped_and_counted(repo):
    sha = repo.commit({"cont.py": '"""Cont."""\n\n\ndef total(a, b): \\\n    return a + b\n'})
    out = await docs(repo, sha)
    (finding,) = rule(out, "DOC100")
    assert finding.suggested_fix is None and "docstring" not in finding.extra
    assert finding.extra["no_fix_reason"] == "the drafted docstring did not parse"
    assert out.metrics["drafts_dropped"] == 1


async def test_a_summary_that_only_restates_the_name_is_not_offered(repo):
    source = '"""Handlers."""\n\n\nclass Handler:\n    """Base."""\n\n    def handle(self):\n        ...\n'
    sha = repo.commit({"h.py": source})
    (finding,) = rule(await docs(repo, sha), "DOC100")
    assert finding.symbol == "Handler.handle"  # the finding stays; only the draft is withheld
    assert finding.suggested_fix is None and "docstring" not in finding.extra
    assert "_draft" not in finding.extra  # what an assistant would complete is not output


def test_name_restating_summaries_are_recognised():
    assert restates_name("Handle.", "handle")
    assert restates_name("As sql.", "as_sql")
    assert restates_name("A command.", "Command")
    assert restates_name("Return ``self._name``.", "get_name")
    assert restates_name("Return whether valid.", "is_valid")
    assert not restates_name("Return ``a + b``.", "add")
    assert not restates_name("Call ``connect()`` and return ``self.conn``.", "open")


async def test_a_form_feed_line_does_not_shift_where_the_draft_goes(repo):
    sha = repo.commit({"ff.py": '"""Ff."""\n\x0c\ndef total(a, b):\n    return a + b\n'})
    (finding,) = rule(await docs(repo, sha), "DOC100")
    (repo.path / "fix.patch").write_text(finding.suggested_fix, encoding="utf-8")
    repo.git("apply", "fix.patch")
    function = ast.parse((repo.path / "ff.py").read_text(encoding="utf-8")).body[1]
    assert ast.get_docstring(function) == finding.extra["docstring"]
