"""The API diff reports what a caller would notice: no false removals or breaks, deprecations as
deprecations, and removed objects located in the parent. Real git repositories, real griffe."""

from __future__ import annotations

import textwrap

from controlroom.agents.impact.agent import ImpactAgent
from controlroom.core.git import GitRepository
from controlroom.core.model import AgentContext


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


async def analyze(repo, old: dict[str, str], new: dict[str, str | None]):
    repo.commit({"pkg/__init__.py": "", **old})
    sha = repo.commit(new)
    change = GitRepository(repo.path).changeset(sha)
    ctx = AgentContext(repo_path=repo.path, config={})
    return await ImpactAgent().analyze(change, ctx), change


def api(out):
    return sorted(
        (f.rule, f.symbol, f.severity.value) for f in out.findings if f.rule.startswith("IMP1")
    )


async def test_a_method_still_inherited_is_not_removed_a_removed_function_is_critical(repo):
    base = src("""
        class Base:
            def save(self):
                return 1
        """)
    old = src("""
        from pkg.base import Base

        __all__ = ["Local", "Model", "helper"]


        class Local:
            def close(self):
                return 0


        class Model(Base):
            def save(self):
                return 2

            def close(self):
                return 3


        def helper():
            return 4
        """)
    new = src("""
        from pkg.base import Base


        class Local:
            def close(self):
                return 0


        class Model(Base, Local):
            pass
        """)
    out, _ = await analyze(
        repo, {"pkg/base.py": base, "pkg/models.py": old}, {"pkg/models.py": new}
    )
    assert api(out) == [("IMP101", "helper", "critical")]


async def test_a_class_default_moved_to_a_subclass_instances_is_low(repo):
    old_base = src("""
        __all__ = ["FieldABC", "Other"]


        class FieldABC:
            parent = None
            name = None

            def bind(self):
                return self.parent


        class Other:
            limit = 3
        """)
    new_base = src("""
        __all__ = ["FieldABC", "Other"]


        class FieldABC:
            def bind(self):
                return self.parent


        class Other:
            pass
        """)
    old_fields = src("""
        from pkg import base


        class Field(base.FieldABC):
            def __init__(self):
                self.required = False
        """)
    new_fields = src("""
        from pkg import base


        class Field(base.FieldABC):
            def __init__(self):
                self.required = False
                self.parent: object | None = None

            def rename(self, name):
                self.name = name  # set later, not on every instance
        """)
    out, _ = await analyze(
        repo,
        {"pkg/base.py": old_base, "pkg/fields.py": old_fields},
        {"pkg/base.py": new_base, "pkg/fields.py": new_fields},
    )
    assert api(out) == [
        ("IMP101", "FieldABC.name", "high"),
        ("IMP101", "FieldABC.parent", "low"),
        ("IMP101", "Other.limit", "high"),
    ]
    [moved] = [f for f in out.findings if f.symbol == "FieldABC.parent"]
    assert "pkg/fields.py:7 Field sets it on every instance" in moved.message


async def test_a_method_a_standard_library_base_provides_is_not_removed(repo):
    head = "import configparser\n\n\nclass Conf(configparser.ConfigParser):\n"
    old = head + "    def get(self, section, option):\n        pass\n"
    out, _ = await analyze(repo, {"pkg/conf.py": old}, {"pkg/conf.py": head + "    pass\n"})
    assert api(out) == []


async def test_a_method_of_a_class_with_a_base_outside_the_repository_is_not_critical(repo):
    old = "from django.db import models\n\n\nclass M(models.Model):\n    def save(self):\n        pass\n"
    new = "from django.db import models\n\n\nclass M(models.Model):\n    pass\n"
    out, _ = await analyze(repo, {"pkg/m.py": old}, {"pkg/m.py": new})
    (finding,) = out.findings
    # medium for the base outside the repository, then low: M is internal in all but name
    assert finding.severity.value == "low"
    assert "may still be inherited from django.db.models.Model" in finding.message


async def test_a_name_served_by_a_module_getattr_shim_is_a_deprecation(repo):
    old = src("""
        def current():
            return 1


        def legacy():
            return 1
        """)
    new = src("""
        import warnings

        _MOVED = {"legacy": "current"}


        def current():
            return 1


        def __getattr__(name):
            if name in _MOVED:
                warnings.warn(f"{name} is deprecated", DeprecationWarning, stacklevel=2)
                return globals()[_MOVED[name]]
            raise AttributeError(name)
        """)
    out, _ = await analyze(repo, {"pkg/m.py": old}, {"pkg/m.py": new})
    assert api(out) == [("IMP105", "legacy", "medium")]
    (finding,) = out.findings
    assert finding.line == 3 and finding.path == "pkg/m.py"  # where the shim names it
    assert "__getattr__" in finding.message and "DeprecationWarning" in finding.message


async def test_only_signature_changes_that_break_a_caller_are_breaks(repo):
    old = src("""
        def f(__x, y=1):
            return __x


        def g(a, **attrs):
            return a


        def h(a, b=None):
            return a


        def k(a, flag=False):
            return a


        def broken(a):
            return a


        def renamed(a, b=1):
            return a
        """)
    new = src("""
        _MISSING = object()


        def f(x, /, y=1):
            return x


        def g(a, **kwargs):
            return a


        def h(a, b=_MISSING):
            return a


        def k(a, **kwargs):
            if "flag" in kwargs:
                pass
            return a


        def broken(a, b):
            return a


        def renamed(a, c=1):
            return a
        """)
    out, _ = await analyze(repo, {"pkg/m.py": old}, {"pkg/m.py": new})
    assert api(out) == [
        ("IMP102", "broken", "high"),  # a required parameter added
        ("IMP102", "renamed", "high"),  # a keyword renamed, no **kwargs to take the old one
        ("IMP105", "k", "medium"),  # a keyword now taken by **kwargs: a deprecation at most
    ]
    (kwargs,) = [f for f in out.findings if f.rule == "IMP105"]
    assert "'flag'" in kwargs.message


DEPRECATING = src("""
    import warnings


    def old_api(x):
        {warn}
        return x


    def _private(x):
        warnings.warn("private", DeprecationWarning)
        return x
    """)


async def test_a_new_deprecation_warning_without_stacklevel_is_two_findings(repo):
    before = DEPRECATING.replace("{warn}", "pass").replace(
        '        warnings.warn("private", DeprecationWarning)\n', ""
    )
    after = DEPRECATING.replace(
        "{warn}", 'warnings.warn("old_api is deprecated, use new_api", DeprecationWarning)'
    )
    out, _ = await analyze(repo, {"pkg/m.py": before}, {"pkg/m.py": after})
    assert api(out) == [("IMP105", "old_api", "medium"), ("IMP106", "old_api", "medium")]
    assert out.metrics["deprecations"] == 1 and out.metrics["api_breaks"] == 0
    deprecated = next(f for f in out.findings if f.rule == "IMP105")
    assert "old_api is deprecated, use new_api" in deprecated.message
    assert deprecated.line == 5
    stack = next(f for f in out.findings if f.rule == "IMP106")
    assert "stacklevel" in stack.message and "blames the library" in stack.message
    assert "in pkg.m.old_api;" in stack.message and stack.line == 5


async def test_warnings_without_stacklevel_are_one_finding_per_call_on_its_line(repo):
    before = "def a():\n    pass\n\n\ndef b():\n    pass\n"
    after = (
        "import warnings\n\n\ndef a():\n    warnings.warn('a', DeprecationWarning)\n\n\n"
        "def b():\n    warnings.warn('b', FutureWarning, stacklevel=1)\n"
    )
    out, _ = await analyze(repo, {"pkg/m.py": before}, {"pkg/m.py": after})
    stacks = [(f.symbol, f.line) for f in out.findings if f.rule == "IMP106"]
    assert stacks == [("a", 5), ("b", 9)]


async def test_a_new_deprecation_with_stacklevel_is_one_finding(repo):
    before = DEPRECATING.replace("{warn}", "pass")
    after = DEPRECATING.replace(
        "{warn}", 'warnings.warn("gone soon", category=RemovedSoon, stacklevel=2)'
    ).replace("import warnings\n", "import warnings\n\nfrom pkg.errors import RemovedSoon\n")
    errors = (
        "class Base(PendingDeprecationWarning):\n    pass\n\n\nclass RemovedSoon(Base):\n    pass\n"
    )
    out, _ = await analyze(repo, {"pkg/m.py": before, "pkg/errors.py": errors}, {"pkg/m.py": after})
    assert api(out) == [("IMP105", "old_api", "medium")]


async def test_a_deprecated_decorator_added_is_a_deprecation(repo):
    before = "def f():\n    return 1\n"
    after = (
        "from typing_extensions import deprecated\n\n\n"
        '@deprecated("use g")\ndef f():\n    return 1\n'
    )
    out, _ = await analyze(repo, {"pkg/m.py": before}, {"pkg/m.py": after})
    assert api(out) == [("IMP105", "f", "medium")]
    assert '"use g"' in out.findings[0].message


async def test_a_removed_function_points_at_its_place_in_the_parent(repo):
    old = src("""
        def keep():
            return 1


        def gone(a, b):
            return a + b
        """)
    new = "def keep():\n    return 1\n"
    out, change = await analyze(repo, {"pkg/m.py": old}, {"pkg/m.py": new})
    (finding,) = out.findings
    assert (finding.rule, finding.path, finding.line) == ("IMP101", "pkg/m.py", 5)
    assert finding.snippet == "def gone(a, b):"
    assert finding.message.endswith(f"was at pkg/m.py:5 in {change.parent[:7]}")
    assert finding.extra["location"] == "parent"
    assert finding.extra["location_commit"] == change.parent


async def test_a_removed_function_of_a_renamed_module_points_at_the_old_path(repo):
    old = "def keep():\n    return 1\n\n\ndef gone():\n    return 2\n"
    out, _ = await analyze(repo, {"pkg/old.py": old}, {"pkg/old.py": None, "pkg/new.py": old})
    (finding,) = [f for f in out.findings if f.rule == "IMP101"]
    assert finding.path == "pkg/old.py" and finding.symbol is None  # the module as a whole


async def test_a_removal_the_parent_announced_with_a_deprecation_is_high_not_critical(repo):
    old = src("""
        import warnings

        __all__ = ["Old", "keep", "legacy"]


        def keep():
            return 1


        def legacy():
            warnings.warn("legacy() goes away in 2.0", DeprecationWarning, stacklevel=2)
            return 1


        class Old:
            def __init__(self):
                warnings.warn("Old is deprecated", FutureWarning, stacklevel=2)
        """)
    new = "import warnings\n\n\ndef keep():\n    return 1\n"
    out, _ = await analyze(repo, {"pkg/m.py": old}, {"pkg/m.py": new})
    assert api(out) == [("IMP101", "Old", "low"), ("IMP101", "legacy", "low")]
    assert all("announced removal" in f.message for f in out.findings)


async def test_a_parameter_inserted_is_one_finding_for_the_function(repo):
    old = "def bar(a, b=1, c=2, d=3):\n    return a\n"
    new = "def bar(a, hidden=False, b=1, c=2, d=3):\n    return a\n"
    out, _ = await analyze(repo, {"pkg/m.py": old}, {"pkg/m.py": new})
    (finding,) = out.findings
    # Only calls passing b, c or d by position break: medium, and said so.
    assert (finding.rule, finding.symbol, finding.severity.value) == ("IMP102", "bar", "medium")
    assert "3 optional parameters moved" in finding.message and "(b, c, d)" in finding.message
    assert "passing b or a later one by position breaks" in finding.message


async def test_required_parameters_moved_stay_high(repo):
    old = "def bar(a, b, c=2):\n    return a\n"
    new = "def bar(a, x=0, b=None, c=2):\n    return a\n"
    out, _ = await analyze(repo, {"pkg/m.py": old}, {"pkg/m.py": new})
    (finding,) = out.findings
    assert finding.severity.value == "high" and "parameter changes break callers" in finding.message


async def test_a_private_module_deprecating_a_parameter_names_it(repo):
    old = src("""
        import warnings


        def attrs(maybe_cls=None, hash=None, repr_ns=None):
            if repr_ns is not None:
                warnings.warn(
                    "The `repr_ns` argument is deprecated, {}".format("soon"),
                    DeprecationWarning,
                    stacklevel=2,
                )
            return maybe_cls
        """)
    new = src("""
        import warnings


        def attrs(maybe_cls=None, hash=None, repr_ns=None):
            if repr_ns is not None:
                warnings.warn(f"The `repr_ns` argument is deprecated, {'soon'}", DeprecationWarning, stacklevel=2)
            if hash is not None:
                warnings.warn(DeprecationWarning("The `hash` argument is deprecated."), stacklevel=2)
            return maybe_cls
        """)
    out, _ = await analyze(repo, {"pkg/_make.py": old}, {"pkg/_make.py": new})
    (finding,) = out.findings  # the reformatted repr_ns warning is not new
    assert (finding.rule, finding.path, finding.line) == ("IMP105", "pkg/_make.py", 8)
    assert finding.message.startswith("parameter 'hash' of pkg._make.attrs is deprecated")


async def test_new_warnings_in_a_module_getattr_deprecate_the_names_it_serves(repo):
    old = '__all__ = ["f"]\n__version__ = "1.0"\n\n\ndef f():\n    return 1\n'
    new = src("""
        import warnings

        __all__ = ["f"]


        def f():
            return 1


        def __getattr__(name):
            if name == "__version__":
                warnings.warn("__version__ is deprecated", DeprecationWarning)
                return "1.0"
            raise AttributeError(name)
        """)
    out, _ = await analyze(repo, {"pkg/__init__.py": old}, {"pkg/__init__.py": new})
    assert api(out) == [("IMP105", "__getattr__", "medium"), ("IMP106", "__getattr__", "medium")]
    deprecation = next(f for f in out.findings if f.rule == "IMP105")
    assert "pkg.__version__" in deprecation.message


async def test_the_same_commit_again_reuses_the_comparison(repo, store):
    from controlroom.core.pipeline import StoreAgentCache

    old = "def keep():\n    return 1\n\n\ndef gone():\n    return 2\n"
    repo.commit({"pkg/__init__.py": "", "pkg/m.py": old})
    sha = repo.commit({"pkg/m.py": "def keep():\n    return 1\n"})
    cache = StoreAgentCache(store, "impact")
    runs = []
    for _ in range(2):  # the parent was never analyzed: the first run parses it
        ctx = AgentContext(repo_path=repo.path, config={}, cache=cache)
        runs.append(await ImpactAgent().analyze(GitRepository(repo.path).changeset(sha), ctx))
    assert [r.metrics["api"]["cached"] for r in runs] == [0, 1]
    first, second = ([(f.rule, f.path, f.line, f.message) for f in r.findings] for r in runs)
    assert first == second and first[0][0] == "IMP101"


async def test_one_change_to_a_method_and_its_overrides_is_one_finding(repo):
    old = src("""
        class Type:
            def metavar(self, param):
                return param


        class Choice(Type):
            def metavar(self, param):
                return param
        """)
    new = old.replace("def metavar(self, param):", "def metavar(self, param, ctx):")
    out, _ = await analyze(repo, {"pkg/types.py": old}, {"pkg/types.py": new})
    (finding,) = out.findings
    assert (finding.rule, finding.symbol) == ("IMP102", "Type.metavar")
    assert "the same change in 1 more: pkg.types.Choice.metavar" in finding.message


async def test_a_hostile_class_hierarchy_is_resolved_once_per_class(repo):
    levels = ["class L9:\n    def kept(self):\n        pass\n"]
    for i in range(8, -1, -1):
        bases = ", ".join([f"L{i + 1}"] * 30)  # 30^9 paths if every path were walked
        levels.append(f"class L{i}({bases}):\n    pass\n")
    tree = "\n\n".join(levels)
    methods = "    def gone(self):\n        pass\n\n    def kept(self):\n        pass\n"
    old = tree + "\n\n__all__ = ['Top']\n\nclass Top(L0):\n" + methods
    new = tree + "\n\n__all__ = ['Top']\n\nclass Top(L0):\n    pass\n"
    out, _ = await analyze(repo, {"pkg/deep.py": old}, {"pkg/deep.py": new})
    assert api(out) == [("IMP101", "Top.gone", "critical")]  # kept: inherited from L9


async def test_a_new_deprecation_warning_with_stacklevel_2_is_only_the_deprecation(repo):
    before = DEPRECATING.replace("{warn}", "pass")
    after = DEPRECATING.replace(
        "{warn}", 'warnings.warn("use new_api", DeprecationWarning, stacklevel=2)'
    )
    out, _ = await analyze(repo, {"pkg/m.py": before}, {"pkg/m.py": after})
    assert api(out) == [("IMP105", "old_api", "medium")]


async def test_a_second_parameter_deprecated_through_a_message_variable_is_new(repo):
    """``message = "..."; warn(message, ...)``: the text is the variable's, and a function that
    already deprecated ``proxies`` deprecating ``app`` too is a new deprecation."""
    old = src("""
        import warnings


        def client(proxies=None, app=None):
            if proxies:
                message = "The 'proxies' argument is now deprecated."
                warnings.warn(message, DeprecationWarning, stacklevel=2)
            return app
        """)
    new = old.replace(
        "    return app\n",
        "    if app:\n"
        "        message = (\n"
        "            \"The 'app' shortcut is now deprecated.\"\n"
        "            \" Use 'transport=...' instead.\"\n"
        "        )\n"
        "        warnings.warn(message, DeprecationWarning, stacklevel=2)\n"
        "    return app\n",
    )
    out, _ = await analyze(repo, {"pkg/m.py": old}, {"pkg/m.py": new})
    (found,) = [f for f in out.findings if f.rule == "IMP105"]
    assert found.message == (
        "parameter 'app' of pkg.m.client is deprecated (a new DeprecationWarning): "
        "\"The 'app' shortcut is now deprecated. Use 'transport=...' instead.\""
    )


async def test_object_base_and_python2_protocol_methods_are_not_breaks(repo):
    old = src("""
        __all__ = ["Token", "Plain"]


        class Token(object):
            def __unicode__(self):
                return "t"

            def render(self):
                return "t"


        class Plain(object):
            pass
        """)
    new = src("""
        __all__ = ["Token", "Plain"]


        class Token:
            pass


        class Plain:
            pass
        """)
    out, _ = await analyze(repo, {"pkg/tokens.py": old}, {"pkg/tokens.py": new})
    assert api(out) == [
        ("IMP101", "Token.__unicode__", "low"),
        ("IMP101", "Token.render", "critical"),
    ]
    [py2] = [f for f in out.findings if f.symbol == "Token.__unicode__"]
    assert "a Python 2 protocol method" in py2.message


async def test_removing_a_method_that_only_refused_to_work_is_low(repo):
    old = src("""
        __all__ = ["Item", "Stream"]


        class Item:
            def __getitem__(self, key):
                \"\"\"Items are not containers.\"\"\"
                raise TypeError(f"{type(self).__name__} does not support item access")

            def value(self):
                return 1


        class Stream:
            def read(self, amount):
                raise NotImplementedError

            def abort(self):
                raise RuntimeError("aborted")
        """)
    new = src("""
        __all__ = ["Item", "Stream"]


        class Item:
            pass


        class Stream:
            pass
        """)
    out, _ = await analyze(repo, {"pkg/items.py": old}, {"pkg/items.py": new})
    assert api(out) == [
        ("IMP101", "Item.__getitem__", "low"),
        ("IMP101", "Item.value", "critical"),
        ("IMP101", "Stream.abort", "critical"),  # raising on purpose is what callers call it for
        ("IMP101", "Stream.read", "low"),
    ]
    [stub] = [f for f in out.findings if f.symbol == "Stream.read"]
    assert "it only raised NotImplementedError: no caller could use it" in stub.message


async def test_a_name_bound_per_python_version_in_both_branches_is_no_kind_change(repo):
    old = src("""
        __all__ = ["ExceptionGroup"]

        try:
            ExceptionGroup
        except NameError:

            class ExceptionGroup(Exception):
                pass

        else:
            ExceptionGroup = ExceptionGroup
        """)
    new = src("""
        import sys

        __all__ = ["ExceptionGroup"]

        if sys.version_info >= (3, 11):
            ExceptionGroup = ExceptionGroup
        else:

            class ExceptionGroup(Exception):
                pass
        """)
    out, _ = await analyze(repo, {"pkg/meta.py": old}, {"pkg/meta.py": new})
    assert api(out) == []
