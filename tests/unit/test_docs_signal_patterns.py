"""[signal] doc writer false positives, on real two-commit repositories through the real agent:
a directive's prose after a Google section is no parameter (DOC102), and a reST ``:raises:``
field that names the exception in its description documents it (DOC105)."""

from __future__ import annotations

import textwrap

from controlroom.agents.docs.agent import DocWriterAgent
from controlroom.core.git import GitRepository
from controlroom.core.model import AgentContext


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


async def findings(repo, old: str, new: str):
    repo.commit({"pkg/__init__.py": "", "pkg/m.py": old})
    sha = repo.commit({"pkg/m.py": new})
    change = GitRepository(repo.path).changeset(sha)
    out = await DocWriterAgent().analyze(change, AgentContext(repo_path=repo.path, config={}))
    return [(f.rule, f.message) for f in out.findings]


DIRECTIVE = src('''
    """Classes."""


    def define(maybe_cls=None, repr_ns=None):
        """Define a class.

        Args:
            repr_ns (str):
                A custom name for the repr.

        .. caution::
            Refer to `attrs.define` for the rest of the parameters, but note that they
            can have different defaults.

        Notably not a parameter either.
        """
        return {body}
    ''')


async def test_the_prose_of_a_directive_after_a_google_section_is_no_parameter(repo):
    out = await findings(
        repo, DIRECTIVE.format(body="maybe_cls"), DIRECTIVE.format(body="(maybe_cls, repr_ns)")
    )
    assert [f for f in out if f[0] == "DOC102"] == []


RAISES = src('''
    """Registry."""

    from pkg.errors import RegistryError


    def get_class(classname, all=False):
        """Retrieve a class from the registry.

        :param classname: The name.
        :param all: Every match.
        :raises: pkg.errors.RegistryError if the class cannot be found.
        """
        if {test}:
            raise RegistryError(classname)
        return classname
    ''')


async def test_a_raises_field_naming_the_exception_in_its_text_documents_it(repo):
    out = await findings(repo, RAISES.format(test="not classname"), RAISES.format(test="all"))
    assert [f for f in out if f[0] == "DOC105"] == []


PROSE = src('''
    """Resources."""


    def open_resource(path, mode="rb"):
        """Open a resource file relative to the root path.

        :param path: Path to the resource.
        :param mode: Open the file in this mode.
        """
        if mode not in {modes}:
            raise ValueError("Resources can only be opened for reading.")
        return open(path, mode)


    def make_response(rv):
        """Convert the return value to a response.

        :param rv: The return value.
        """
        if rv is None:
            raise TypeError("no response")
        return rv


    def url_for(endpoint):
        """Generate a URL to the given endpoint.

        :param endpoint: The endpoint name.
        """
        return "/" + endpoint


    def check(value):
        """Check a value.

        :param value: The value.
        """
        if not value:
            raise KeyError(value)
        return value
    ''')


async def test_returns_and_raises_sections_are_asked_for_only_where_the_module_uses_them(repo):
    old, new = PROSE.format(modes='{"r", "rb"}'), PROSE.format(modes='{"r", "rt", "rb"}')
    out = await findings(repo, old, new)
    assert [f for f in out if f[0] in ("DOC104", "DOC105")] == []
    habit = old
    for param in (":param rv: The return value.", ":param endpoint: The endpoint name.",
                  ":param value: The value."):  # fmt: skip
        habit = habit.replace(param, param + "\n        :returns: What it makes.")
    out = await findings(repo, habit, habit.replace('"rb"}', '"rt", "rb"}'))
    assert [f[0] for f in out if f[0] == "DOC104"] == ["DOC104"]  # open_resource breaks the habit


async def test_no_docstring_is_asked_of_a_private_module_or_a_nested_class(repo):
    code = (
        "class Bar:\n    def render(self):\n        return {n}\n\n    class Memo:\n        pass\n"
    )
    repo.commit(
        {"pkg/__init__.py": "", "pkg/_impl.py": code.format(n=1), "pkg/ui.py": code.format(n=1)}
    )
    sha = repo.commit({"pkg/_impl.py": code.format(n=2), "pkg/ui.py": code.format(n=2)})
    change = GitRepository(repo.path).changeset(sha)
    out = await DocWriterAgent().analyze(change, AgentContext(repo_path=repo.path, config={}))
    assert sorted((f.path, f.symbol) for f in out.findings if f.rule == "DOC100") == [
        ("pkg/ui.py", "Bar"),
        ("pkg/ui.py", "Bar.render"),
    ]
