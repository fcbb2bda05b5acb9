"""[signal] API-diff patterns on real two-commit repositories, through the real impact agent:
signature changes no caller notices, structure changes no caller observes, removals of internal
helpers, a module ``__getattr__`` that is not API, one deprecation per name and per warning, and
API changes the commit's own changelog announces."""

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
    return await ImpactAgent().analyze(change, AgentContext(repo_path=repo.path, config={}))


def api(out):
    return sorted(
        (f.rule, f.symbol, f.severity.value) for f in out.findings if f.rule.startswith("IMP1")
    )


async def test_private_and_star_parameters_made_positional_only_break_no_caller(repo):
    old = src("""
        class Headers:
            def add(self, _key, _value, **kw):
                return _key

            def get(self, key, _get_mode=False):
                return key

            def update(self, *args, **kwargs):
                return args
        """)
    new = src("""
        class Headers:
            def add(self, key, value, /, **kw):
                return key

            def get(self, key):
                return key

            def update(self, arg=None, /, **kwargs):
                return arg
        """)
    out = await analyze(repo, {"pkg/h.py": old}, {"pkg/h.py": new})
    assert api(out) == []


async def test_positional_only_parameters_made_explicit_where_star_args_took_them(repo):
    old = src("""
        class Context:
            def invoke(*args, **kwargs):
                self, callback = args[:2]
                return callback(*args[2:], **kwargs)

            def forward(self, cmd):
                return cmd
        """)
    new = src("""
        class Context:
            def invoke(__self, __callback, *args, **kwargs):
                return __callback(*args, **kwargs)

            def forward(self, __cmd, extra):
                return __cmd
        """)
    out = await analyze(repo, {"pkg/ctx.py": old}, {"pkg/ctx.py": new})
    assert api(out) == [("IMP102", "Context.forward", "high")]  # forward took no *args: breaks


async def test_a_method_that_always_raises_breaks_no_caller_whatever_its_signature(repo):
    old = src("""
        def _immutable(self):
            raise TypeError("immutable")


        class Frozen:
            def update(self, *args, **kwargs):
                _immutable(self)

            def extend(self, *args):
                raise TypeError("immutable")
        """)
    new = src("""
        def _immutable(self):
            raise TypeError("immutable")


        class Frozen:
            def update(self, arg, /, **kwargs):
                _immutable(self)

            def extend(self, arg, /):
                raise TypeError("immutable")
        """)
    out = await analyze(repo, {"pkg/f.py": old}, {"pkg/f.py": new})
    assert api(out) == []


async def test_structure_changes_no_caller_can_observe_are_not_reported(repo):
    old = src("""
        def _calls_update(name):
            def f(self, *a):
                return getattr(super(), name)(*a)
            return f


        class Mixin:
            update = _calls_update("update")


        class CallbackDict(Mixin, dict):
            pass


        class Policy(Mixin, dict):
            pass


        try:
            Group = __builtins__.Group
        except AttributeError:
            class Group(Exception):
                pass
        """)
    new = src("""
        def _always(f):
            return f


        class Mixin:
            @_always
            def update(self, *a):
                return super().update(*a)


        class CallbackDict(Mixin, dict):
            pass


        class Policy(CallbackDict):
            pass


        try:
            Group
        except NameError:
            class Group(Exception):
                pass
        else:
            Group = Group
        """)
    out = await analyze(repo, {"pkg/s.py": old}, {"pkg/s.py": new})
    assert [f for f in api(out) if f[0] == "IMP104"] == []


HELPERS = (
    "def keep():\n    return 1\n\n\ndef helper():\n    return 2\n\n\ndef told():\n    return 3\n"
)


async def test_removing_a_name_nobody_was_told_about_is_low_not_critical(repo):
    docs = {"docs/api.rst": "Use ``told()`` to tell.\n"}
    out = await analyze(
        repo, {"pkg/m.py": HELPERS, **docs}, {"pkg/m.py": "def keep():\n    return 1\n"}
    )
    assert api(out) == [("IMP101", "helper", "low"), ("IMP101", "told", "critical")]
    helper = next(f for f in out.findings if f.symbol == "helper")
    assert "internal in all but name" in helper.message
    assert helper.message.endswith(f"in {helper.extra['location_commit'][:7]}")


async def test_a_module_getattr_is_not_api_the_names_it_served_are(repo):
    old = src("""
        import warnings


        def keep():
            return 1


        def __getattr__(name):
            if name == "__version__":
                warnings.warn("__version__ is deprecated", DeprecationWarning, stacklevel=2)
                return "1.0"
            raise AttributeError(name)
        """)
    out = await analyze(repo, {"pkg/v.py": old}, {"pkg/v.py": "def keep():\n    return 1\n"})
    assert api(out) == [("IMP101", "__version__", "low")]  # it warned: an announced removal
    assert "was removed" in out.findings[0].message


SHIM = src("""
    import warnings


    def __getattr__(name):
        if name in ("Old",):
            warnings.warn(f"{name} is deprecated", DeprecationWarning, stacklevel=2)
            return object
        raise AttributeError(name)
    """)


async def test_a_deprecated_name_shimmed_by_the_package_and_its_module_is_one_finding(repo):
    old_mod = "class Old:\n    pass\n\n\nclass New:\n    pass\n"
    old_init = "from pkg.core import New, Old\n"
    new_mod = "class New:\n    pass\n\n\n" + SHIM
    new_init = "from pkg.core import New\n\n\n" + SHIM
    out = await analyze(
        repo, {"pkg/core.py": old_mod, "pkg/__init__.py": old_init},
        {"pkg/core.py": new_mod, "pkg/__init__.py": new_init},
    )  # fmt: skip
    deprecations = [f for f in out.findings if f.rule == "IMP105"]
    assert [f.path for f in deprecations] == ["pkg/__init__.py"]


WARNS = src("""
    import warnings


    def attrs(cls=None, repr_ns=None, hash=None):
        if repr_ns is not None:
            warnings.warn(
                DeprecationWarning("The `repr_ns` argument is deprecated."),
                stacklevel=2,
            )
        if hash is not None:
            warnings.warn(
                DeprecationWarning("The `hash` argument is deprecated."),
                stacklevel=2,
            )
        return cls
    """)


async def test_two_deprecation_warnings_of_one_function_are_two_tasks(repo, store):
    from controlroom.core.convergence import fingerprint

    before = "def attrs(cls=None, repr_ns=None, hash=None):\n    return cls\n"
    out = await analyze(repo, {"pkg/a.py": before}, {"pkg/a.py": WARNS})
    deprecations = [f for f in out.findings if f.rule == "IMP105"]
    assert sorted(f.extra["api"]["parameter"] for f in deprecations) == ["hash", "repr_ns"]
    assert len({fingerprint(f) for f in deprecations}) == 2


async def test_api_changes_the_changelog_announces_are_one_low_finding_per_rule(repo):
    old = src("""
        __all__ = ["Runner", "gone", "also_gone", "kept_secret"]


        class Runner:
            def __init__(self, charset="utf-8", mix_stderr=True):
                self.charset = charset


        def gone():
            return 1


        def also_gone():
            return 2


        def kept_secret():
            return 3
        """)
    new = src("""
        __all__ = ["Runner"]


        class Runner:
            def __init__(self, charset="utf-8"):
                self.charset = charset
        """)
    notes_old = "Changes\n=======\n\nVersion 1.0\n-----------\n\n- First.\n"
    notes_new = notes_old.replace(
        "Version 1.0", "Version 2.0\n-----------\n\n- Removes ``gone`` and ``also_gone``.\n"
        "- Removes the ``mix_stderr`` parameter of ``Runner``.\n\nVersion 1.0",
    )  # fmt: skip
    out = await analyze(
        repo, {"pkg/r.py": old, "CHANGES.rst": notes_old},
        {"pkg/r.py": new, "CHANGES.rst": notes_new},
    )  # fmt: skip
    by_rule = {(f.rule, f.severity.value): f for f in out.findings if f.rule.startswith("IMP1")}
    assert sorted(by_rule) == [("IMP101", "critical"), ("IMP101", "low"), ("IMP102", "low")]
    assert by_rule["IMP101", "critical"].symbol == "kept_secret"  # not announced
    merged = by_rule["IMP101", "low"].message
    assert merged.startswith("2 removals announced in CHANGES.rst:")
    assert "pkg.r.gone was removed" in merged and "pkg.r.also_gone was removed" in merged
    assert "mix_stderr" in by_rule["IMP102", "low"].message


FACTORY = src("""
    import warnings


    def _make_getattr(mod_name):
        def __getattr__(name):
            {table}
            if name not in table:
                raise AttributeError(name)
            if name != "__version__":
                warnings.warn(f"{{name}} is deprecated", DeprecationWarning, stacklevel=2)
            return table[name]

        return __getattr__


    __getattr__ = _make_getattr(__name__)
    """)


async def test_names_a_factory_made_getattr_stops_serving_are_one_removal(repo):
    old = FACTORY.format(table='table = {"__title__": "t", "__url__": "u", "__version__": "1"}')
    new = FACTORY.format(table='table = {"__version__": "1"}')
    out = await analyze(repo, {"pkg/meta.py": old}, {"pkg/meta.py": new})
    (removed,) = [f for f in out.findings if f.rule == "IMP101"]
    assert removed.severity.value == "low"  # the factory's shim warned: an announced removal
    assert "2 public attributes of pkg.meta were removed (__title__, __url__)" in removed.message


RUNNER_OLD = src("""
    class Result:
        def __init__(self, runner, output, exit_code):
            self.output = output


    class Settings:
        def __init__(self, name, debug=False):
            self.name = name


    def invoke(runner):
        return Result(runner, "", 0)
    """)
RUNNER_NEW = src("""
    class Result:
        def __init__(self, runner, output_bytes, output, exit_code):
            self.output = output


    class Settings:
        def __init__(self, name, verbose, debug=False):
            self.name = name


    def invoke(runner):
        return Result(runner, b"", "", 0)
    """)


async def test_a_constructor_only_its_package_calls_is_a_low_signature_break(repo):
    """Result is handed out by invoke(): the tests use results, never build one, so its new
    required parameter breaks no caller outside the package; Settings is built by a test."""
    tests = src("""
        from pkg.run import Result, Settings, invoke


        def test_invoke():
            assert isinstance(invoke(None), Result)
            assert Settings("x").name == "x"
        """)
    out = await analyze(
        repo,
        {"pkg/run.py": RUNNER_OLD, "tests/test_run.py": tests},
        {"pkg/run.py": RUNNER_NEW},
    )
    assert api(out) == [
        ("IMP102", "Result.__init__", "low"),
        ("IMP102", "Settings.__init__", "high"),
    ]
    result = next(f for f in out.findings if f.symbol == "Result.__init__")
    assert "only its own package constructs Result" in result.message


async def test_a_deprecation_warning_without_stacklevel_is_one_task_for_ruff_and_impact(
    repo, tmp_path
):
    """ruff's B028 and the impact agent's IMP106 on one ``warn(`` call are one problem: one
    task, two independent detectors, each warning its own task."""
    from controlroom.agents.critic.agent import CriticAgent
    from controlroom.core.config import load_config
    from controlroom.core.pipeline import analyze_commit
    from controlroom.core.queue import TaskQueue
    from controlroom.core.store import Store
    from controlroom.core.workspace import Workspace

    repo.commit({"pkg/__init__.py": "", "pkg/c.py": "def a(x=None):\n    return x\n"})
    sha = repo.commit(
        {
            "pkg/c.py": src("""
        import warnings


        def a(x=None):
            if x is not None:
                warnings.warn(
                    "x is deprecated", DeprecationWarning
                )
            return x


        def b():
            warnings.warn("b is deprecated", DeprecationWarning)
        """)
        }
    )
    workspace = Workspace(repo.path, load_config(repo.path), tmp_path / "state.db")
    store = await Store.open(workspace.db_path)
    try:
        await analyze_commit(store, workspace, sha, [CriticAgent(), ImpactAgent()])
        tasks = await TaskQueue(store).list()
    finally:
        await store.close()
    stack = sorted(
        (t.symbol, t.line, sorted(t.agents), t.severity.value)
        for t in tasks
        if t.rule in ("B028", "IMP106")
    )
    # B028 alone is an idiom point (low); on a deprecation warning it is IMP106's medium
    assert stack == [
        ("a", 6, ["critic", "impact"], "medium"),
        ("b", 13, ["critic", "impact"], "medium"),
    ]


async def test_a_parameter_deprecation_the_changelog_quotes_is_announced(repo):
    """ "The `app=...` shortcut has been deprecated" names no callable but quotes the parameter:
    the new deprecation of ``app`` is announced (low, merged); ``cookies``, not in the notes,
    stays medium."""
    old = src("""
        import warnings


        def request(url, app=None, cookies=None):
            return url
        """)
    new = src("""
        import warnings


        def request(url, app=None, cookies=None):
            if app:
                warnings.warn("the app shortcut is deprecated", DeprecationWarning, stacklevel=2)
            if cookies is not None:
                warnings.warn("per-request cookies are deprecated", DeprecationWarning, stacklevel=2)
            return url
        """)
    notes_old = "# Changelog\\n"
    notes_new = (
        notes_old
        + "\\n## 2.0\\n\\n### Deprecated\\n\\n* The `app=...` shortcut has been deprecated.\\n"
    )
    out = await analyze(
        repo,
        {"pkg/r.py": old, "CHANGELOG.md": notes_old},
        {"pkg/r.py": new, "CHANGELOG.md": notes_new},
    )
    found = sorted((f.rule, f.severity.value, f.message) for f in out.findings)
    assert [(rule, severity) for rule, severity, _ in found] == [
        ("IMP105", "low"),
        ("IMP105", "medium"),
    ]
    assert found[0][2].startswith("announced in CHANGELOG.md: parameter 'app'")
    assert found[1][2].startswith("parameter 'cookies' of pkg.r.request is deprecated")


async def test_a_package_made_a_module_is_not_removed(repo):
    """``pkg/geo/__init__.py`` -> ``pkg/geo.py``: ``pkg.geo`` imports as before, so only what
    it lost is reported (and its submodule ``pkg.geo.base``, which is gone)."""
    package = src("""
        from pkg.geo.base import Reader


        class GeoIP2:
            def city(self, query):
                return query
        """)
    module = src("""
        class GeoIP2:
            def city(self, query):
                return query
        """)
    out = await analyze(
        repo,
        {"pkg/geo/__init__.py": package, "pkg/geo/base.py": "class Reader:\n    pass\n"},
        {"pkg/geo/__init__.py": None, "pkg/geo/base.py": None, "pkg/geo.py": module},
    )
    removed = {(f.symbol, f.message.split(" was removed")[0]) for f in out.findings}
    assert not any("public module pkg.geo was" in f.message for f in out.findings), removed
    (base,) = [f for f in out.findings if "public module pkg.geo.base was removed" in f.message]
    # nothing names pkg.geo.base (the package imported it relatively): internal, low
    assert base.severity.value == "low" and "internal in all but name" in base.message


async def test_a_removal_announced_by_a_removed_in_warning_class_is_low(repo):
    """Django's ``RemovedInDjango51Warning`` is gone with what it announced: known by its
    name, the removal it announced is the deprecation's planned end (low)."""
    old = src("""
        import warnings

        from pkg.deprecation import RemovedInPkg20Warning

        __all__ = ["OldHasher", "keep"]


        class OldHasher:
            def __init__(self):
                warnings.warn("OldHasher is deprecated", RemovedInPkg20Warning, stacklevel=2)


        def keep():
            return 1
        """)
    new = "__all__ = ['keep']\n\n\ndef keep():\n    return 1\n"
    out = await analyze(
        repo,
        {"pkg/deprecation.py": "class RemovedInPkg20Warning(DeprecationWarning):\n    pass\n",
         "pkg/hashers.py": old},
        {"pkg/deprecation.py": "", "pkg/hashers.py": new},
    )  # fmt: skip
    (removed,) = [f for f in out.findings if f.symbol == "OldHasher"]
    assert removed.severity.value == "low" and "announced removal" in removed.message
    (warning,) = [f for f in out.findings if f.symbol == "RemovedInPkg20Warning"]
    assert warning.severity.value == "low"  # internal, and the warning of an ended cycle


async def test_a_removed_deprecation_message_constant_is_low(repo):
    """Django 5.1 removed ``DEFAULT_FILE_STORAGE_DEPRECATED_MSG``, the text its ended
    deprecation warned with; a documented constant removed beside it stays high."""
    old = src("""
        __all__ = ["STORAGE_DEPRECATED_MSG", "TIMEOUT"]

        STORAGE_DEPRECATED_MSG = "The STORAGE setting is deprecated."
        TIMEOUT = 30
        """)
    out = await analyze(
        repo,
        {"pkg/conf.py": old, "docs/conf.rst": "``TIMEOUT`` and ``STORAGE_DEPRECATED_MSG``\n"},
        {"pkg/conf.py": "__all__ = []\n"},
    )
    severities = {f.symbol: f.severity.value for f in out.findings if f.rule == "IMP101"}
    assert severities["STORAGE_DEPRECATED_MSG"] == "low"
    assert severities["TIMEOUT"] in ("high", "critical")


def test_release_notes_folders_are_changelogs():
    from controlroom.agents.impact.announced import is_changelog

    assert is_changelog("docs/releases/5.1.txt") and is_changelog("doc/whatsnew/v2.2.0.rst")
    assert is_changelog("CHANGES.rst") and is_changelog("changelog.d/123.bugfix.md")
    assert is_changelog("doc/release/release_3.4.rst")  # networkx; NumPy: doc/source/release/
    assert not is_changelog("docs/ref/settings.txt") and not is_changelog("pkg/releases/models.py")


async def test_one_change_made_to_many_names_of_a_module_is_one_finding(repo):
    """pydantic 2.10: seventeen URL types of ``networks`` turned from aliases into classes; one
    finding names them all. Two names of a module changed alike, or changes that differ, stay
    apart."""
    names = ["AnyUrl", "HttpUrl", "FileUrl", "FtpUrl"]
    old = "".join(f"{n} = str\n" for n in names)
    new = "".join(f"class {n}(str):\n    pass\n\n\n" for n in names)
    two_old, two_new = (
        "Pair = int\nOther = int\n",
        "class Pair(int):\n    pass\n\n\nclass Other(int):\n    pass\n",
    )
    out = await analyze(
        repo,
        {"pkg/net.py": old, "pkg/two.py": two_old, "pkg/b.py": "def f(a, b):\n    return a\n"},
        {"pkg/net.py": new, "pkg/two.py": two_new, "pkg/b.py": "def f(a):\n    return a\n"},
    )
    by_symbol = {f.symbol: f for f in out.findings if f.rule == "IMP104"}
    assert set(by_symbol) == {"AnyUrl", "Pair", "Other"}
    head = by_symbol["AnyUrl"]
    assert "and 3 more names of this module" in head.message
    assert "(HttpUrl, FileUrl, FtpUrl)" in head.message and len(head.extra["also"]) == 3
    assert "more names" not in by_symbol["Pair"].message
    assert [f.symbol for f in out.findings if f.rule == "IMP102"] == ["f"]  # another change


async def test_a_method_of_a_class_no_other_file_names_breaks_no_caller_outside_its_module(repo):
    """pydantic 2.9: the mypy plugin's transformer methods changed signature; only mypy.py names
    the class. A class another file names (a test, an import) keeps its severity."""
    old = src("""
        class Transformer:
            def fields(self, model):
                return model


        class Api:
            def fields(self, model):
                return model


        def plugin(model):
            return Transformer().fields(model)
        """)
    new = old.replace("def fields(self, model):", "def fields(self, model, strict):", 1)
    new = new.replace(".fields(model)", ".fields(model, True)")
    new = new.replace("def fields(self, model):", "def fields(self):")  # Api's: another change
    out = await analyze(
        repo,
        {
            "pkg/plugin.py": old,
            "tests/test_api.py": "from pkg.plugin import Api\n",
            # pydantic's v1 copy: a file with a class of the same name speaks of its own
            "pkg/v1.py": "class Transformer:\n    pass\n\n\nTransformer()\n",
        },
        {"pkg/plugin.py": new},
    )
    assert api(out) == [
        ("IMP102", "Api.fields", "high"),
        ("IMP102", "Transformer.fields", "low"),
    ]
    (low,) = [f for f in out.findings if f.symbol == "Transformer.fields"]
    assert "only pkg/plugin.py builds and names Transformer" in low.message


async def test_a_parameter_deprecation_of_a_class_the_notes_deprecate_is_announced(repo):
    """pydantic 2.9: "Deprecate passing a dict to the `Examples` class" announces the new
    deprecation of ``Examples(examples=...)``; a class the notes do not name stays medium."""
    body = src("""
        import warnings


        class {name}:
            def __init__(self, examples):
                if isinstance(examples, dict):
                    warnings.warn("a dict is deprecated", DeprecationWarning, stacklevel=2)
                self.examples = examples
        """)
    old = {"pkg/ex.py": "class Examples:\n    def __init__(self, examples):\n        pass\n",
           "pkg/other.py": "class Samples:\n    def __init__(self, examples):\n        pass\n",
           "CHANGES.md": "# Changes\n"}  # fmt: skip
    notes = "# Changes\n\n## 2.9\n\n* Deprecate passing a dict to the `Examples` class.\n"
    new = {"pkg/ex.py": body.format(name="Examples"), "pkg/other.py": body.format(name="Samples"),
           "CHANGES.md": notes}  # fmt: skip
    out = await analyze(repo, old, new)
    found = {f.path: f for f in out.findings if f.rule == "IMP105"}
    assert found["pkg/ex.py"].severity.value == "low"
    assert found["pkg/ex.py"].message.startswith("announced in CHANGES.md")
    assert found["pkg/other.py"].severity.value == "medium"


async def test_a_removal_only_tests_name_is_medium_in_a_project_with_documentation(repo):
    """Django 5.1 removed ``ForeignObjectRel.is_hidden``: its tests used it, its documentation
    never named it. In a project without a documentation tree the same removal stays critical."""
    old = "def is_hidden(rel):\n    return rel\n\n\ndef shown(rel):\n    return rel\n"
    tests = "from pkg.rel import is_hidden, shown\n"
    out = await analyze(
        repo,
        {"pkg/rel.py": old, "tests/test_rel.py": tests, "docs/ref.txt": "``shown(rel)``\n"},
        {"pkg/rel.py": "def other():\n    return 1\n"},
    )
    severities = {f.symbol: f.severity.value for f in out.findings if f.rule == "IMP101"}
    assert severities == {"is_hidden": "medium", "shown": "critical"}
    (hidden,) = [f for f in out.findings if f.symbol == "is_hidden"]
    assert "undocumented" in hidden.message


async def test_without_a_documentation_tree_a_removal_tests_name_stays_critical(repo):
    out = await analyze(
        repo,
        {"pkg/rel.py": "def is_hidden(rel):\n    return rel\n",
         "tests/test_rel.py": "from pkg.rel import is_hidden\n"},
        {"pkg/rel.py": "def other():\n    return 1\n"},
    )  # fmt: skip
    assert [(f.symbol, f.severity.value) for f in out.findings if f.rule == "IMP101"] == [
        ("is_hidden", "critical")
    ]


async def test_a_document_naming_another_class_method_of_that_name_does_not_document_it(repo):
    """Django's documentation names ``BoundField.is_hidden``; ``ForeignObjectRel.is_hidden``
    was never documented."""
    old = "class Rel:\n    def is_hidden(self):\n        return 1\n"
    out = await analyze(
        repo,
        {"pkg/rel.py": old, "tests/test_rel.py": "from pkg.rel import Rel\nRel().is_hidden()\n",
         "docs/forms.txt": ".. attribute:: BoundField.is_hidden\n"},
        {"pkg/rel.py": "class Rel:\n    pass\n"},
    )  # fmt: skip
    assert [(f.symbol, f.severity.value) for f in out.findings if f.rule == "IMP101"] == [
        ("Rel.is_hidden", "medium")
    ]


async def test_a_removed_constructor_of_a_class_that_stays_is_a_signature_change(repo):
    """Django 5.1 removed ``LocaleRegexDescriptor.__init__(self, attr)``: the class stays and is
    built as its base is. A signature change (high), not a removed public function (critical)."""
    old = "class Descriptor:\n    def __init__(self, attr):\n        self.attr = attr\n\n    def get(self):\n        return 1\n"
    new = "class Descriptor:\n    def get(self):\n        return 1\n"
    used = "from pkg.d import Descriptor\n\nDescriptor('name')\n"  # built outside its package
    out = await analyze(repo, {"pkg/d.py": old, "tests/test_d.py": used}, {"pkg/d.py": new})
    (found,) = [f for f in out.findings if f.symbol == "Descriptor.__init__"]
    assert (found.rule, found.severity.value) == ("IMP102", "high")
    assert (
        "constructor was removed" in found.message and "def __init__(self, attr)" in found.message
    )


async def test_optional_parameters_moved_past_the_third_argument_are_low(repo):
    old = src("""
        def track(sequence, description="Working", total=None, auto_refresh=True, console=None):
            return sequence


        def pick(items, key=None, default=None):
            return items
        """)
    new = src("""
        def track(
            sequence, description="Working", total=None, completed=0, auto_refresh=True, console=None
        ):
            return sequence


        def pick(items, limit=1, key=None, default=None):
            return items
        """)
    out = await analyze(repo, {"pkg/progress.py": old}, {"pkg/progress.py": new})
    assert api(out) == [("IMP102", "pick", "medium"), ("IMP102", "track", "low")]
