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
