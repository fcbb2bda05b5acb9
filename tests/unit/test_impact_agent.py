"""The impact agent on real git repositories and a real store-backed cache."""

from __future__ import annotations

import textwrap

import pytest

from controlroom.agents.impact.agent import ImpactAgent
from controlroom.core.git import GitRepository
from controlroom.core.model import AgentContext
from controlroom.core.pipeline import StoreAgentCache


async def analyze(repo, sha: str, store=None, *, analyze_all: bool = False):
    change = GitRepository(repo.path).changeset(sha)
    cache = StoreAgentCache(store, "impact") if store is not None else None
    ctx = AgentContext(repo_path=repo.path, config={}, analyze_all=analyze_all, cache=cache)
    return await ImpactAgent().analyze(change, ctx)


def rules(output, rule: str):
    return [f for f in output.findings if f.rule == rule]


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


LIB_V1 = src('''
    """Pricing."""


    def price(amount, rate=0.2):
        return amount * (1 + rate)


    def legacy_total(items):
        return sum(items)


    class Cart:
        def add(self, item, quantity):
            return item, quantity
    ''')

LIB_V2 = src('''
    """Pricing."""


    def price(amount, rate=0.25):
        return amount * (1 + rate)


    class Cart:
        def add(self, item):
            return item
    ''')


async def test_a_removed_public_function_is_critical_and_signature_changes_are_reported(
    repo, store
):
    used = "from shop.pricing import legacy_total\n"  # a test names it: public API
    repo.commit({"shop/__init__.py": "", "shop/pricing.py": LIB_V1, "tests/test_p.py": used})
    sha = repo.commit({"shop/pricing.py": LIB_V2})
    out = await analyze(repo, sha, store)
    (removed,) = rules(out, "IMP101")
    assert removed.severity.value == "critical"
    assert removed.symbol == "legacy_total"
    assert removed.snippet == "def legacy_total(items):"
    assert removed.extra["object_path"] == "shop.pricing.legacy_total"
    (param,) = rules(out, "IMP102")
    assert param.symbol == "Cart.add" and param.severity.value == "high"
    assert "quantity" in param.message
    (default,) = rules(out, "IMP103")
    assert default.symbol == "price" and default.severity.value == "medium"
    assert default.extra["api"]["old"] == "rate=0.2" and default.extra["api"]["new"] == "rate=0.25"
    assert out.metrics["api_breaks"] == 3


async def test_the_parents_api_comes_from_the_cache_on_the_next_commit(repo, store):
    repo.commit({"shop/__init__.py": "", "shop/pricing.py": LIB_V1})
    first = repo.commit({"shop/pricing.py": LIB_V1 + "\n\ndef extra():\n    return 1\n"})
    out = await analyze(repo, first, store)
    assert out.metrics["api"] == {"compared": 1, "cached": 0}
    second = repo.commit({"shop/pricing.py": LIB_V1})  # extra() removed again
    out = await analyze(repo, second, store)
    assert out.metrics["api"] == {"compared": 1, "cached": 1}
    assert [f.symbol for f in rules(out, "IMP101")] == ["extra"]
    again = await analyze(repo, second, store)  # the same commit once more: still cached
    assert again.metrics["api"] == {"compared": 1, "cached": 1}


async def test_aliases_pointing_outside_the_package_do_not_crash(repo, store):
    old = src('''
        """Models."""
        from django.db import models
        from .missing import Thing
        from . import helpers as h

        __all__ = ["models", "Thing", "h", "Base", "make"]


        class Base(models.Model):
            def save(self, force=False):
                return force


        def make(kind):
            return Thing(kind)
        ''')
    new = src('''
        """Models."""
        from django.db import models
        from .elsewhere import Thing

        __all__ = ["models", "Thing", "Base"]


        class Base(models.Model):
            def save(self):
                return True
        ''')
    repo.commit({"app/__init__.py": "", "app/models.py": old})
    sha = repo.commit({"app/models.py": new})
    out = await analyze(repo, sha, store)
    found = {(f.rule, f.symbol) for f in out.findings}
    assert ("IMP101", "make") in found
    assert ("IMP102", "Base.save") in found
    assert ("IMP101", "h") in found  # a re-export removed from __all__


async def test_a_deleted_public_module_is_critical(repo, store):
    repo.commit({"pkg/__init__.py": "", "pkg/util.py": "def helper():\n    return 1\n"})
    sha = repo.commit({"pkg/util.py": None})
    out = await analyze(repo, sha, store)
    (finding,) = rules(out, "IMP101")
    assert finding.severity.value == "critical"
    assert finding.message == "public module pkg.util was removed"


async def test_private_tests_and_new_modules_have_no_api_findings(repo, store):
    repo.commit(
        {"pkg/_impl.py": "def a():\n    pass\n", "tests/test_a.py": "def test_a():\n    pass\n"}
    )
    sha = repo.commit({"pkg/_impl.py": "", "tests/test_a.py": "", "pkg/new.py": "def b(): pass\n"})
    out = await analyze(repo, sha, store)
    assert out.metrics["api_breaks"] == 0


DJANGO_MIGRATION = src("""
    from django.db import migrations, models


    class Migration(migrations.Migration):
        dependencies = [("shop", "0001_initial")]
        operations = [
            migrations.AddField("order", "note", models.TextField(default="")),
            migrations.RemoveField(model_name="order", name="legacy_code"),
            migrations.AlterField("order", "total", models.DecimalField(max_digits=9, decimal_places=2)),
            migrations.RenameField("order", "client", "customer"),
            migrations.AlterField("order", "ref", models.CharField(max_length=9, db_column="ref")),
            migrations.RenameField("order", "reference", "ref"),
        ]
    """)

ALEMBIC_REVISION = src('''
    """drop the fax column"""
    from alembic import op
    import sqlalchemy as sa

    revision = "abc123"
    down_revision = "000000"


    def upgrade():
        op.drop_column("users", "fax")
        op.alter_column("users", "age", type_=sa.BigInteger())
        op.add_column("users", sa.Column("nick", sa.String()))


    def downgrade():
        op.drop_table("nicknames")
    ''')


async def test_destructive_migrations_are_critical(repo, store):
    repo.commit({"README": "x\n"})
    sha = repo.commit(
        {
            "db/0002_drop_fax.sql": "-- DROP TABLE in a comment is ignored\n"
            "ALTER TABLE users DROP COLUMN fax;\nCREATE INDEX ix ON users (name);\n",
            "db/0002_drop_fax.down.sql": "ALTER TABLE users DROP COLUMN nick;\n",
            "shop/migrations/0002_changes.py": DJANGO_MIGRATION,
            "alembic/versions/abc123_drop_fax.py": ALEMBIC_REVISION,
        }
    )
    out = await analyze(repo, sha, store)
    new = sorted(f.path for f in rules(out, "IMP201"))
    assert new == [
        "alembic/versions/abc123_drop_fax.py",
        "db/0002_drop_fax.down.sql",
        "db/0002_drop_fax.sql",
        "shop/migrations/0002_changes.py",
    ]
    critical = sorted((f.path, f.line, f.extra["operation"]) for f in rules(out, "IMP202"))
    assert critical == [
        ("alembic/versions/abc123_drop_fax.py", 10, "drop_column"),
        ("alembic/versions/abc123_drop_fax.py", 11, "alter_column"),
        ("db/0002_drop_fax.sql", 2, "DROP COLUMN"),
        ("shop/migrations/0002_changes.py", 8, "RemoveField"),
        ("shop/migrations/0002_changes.py", 10, "RenameField"),
    ]  # the RenameField to a field with db_column and the downgrade/down.sql are not critical
    assert all(f.severity.value == "critical" for f in rules(out, "IMP202"))
    altered = [f for f in rules(out, "IMP203") if f.extra["operation"] == "AlterField"]
    assert len(altered) == 2 and altered[0].severity.value == "high"
    assert out.metrics["destructive_migrations"] == 5


async def test_a_modified_migration_is_judged_on_its_changed_lines_only(repo, store):
    repo.commit({"db/schema.sql": "DROP TABLE old_stuff;\n"})
    sha = repo.commit({"db/schema.sql": "DROP TABLE old_stuff;\nCREATE TABLE t (id int);\n"})
    out = await analyze(repo, sha, store)
    assert rules(out, "IMP202") == [] and rules(out, "IMP201") == []


PERF = src("""
    import asyncio
    import time
    import subprocess as sp
    from time import sleep

    import requests


    def totals(cursor, users):
        out = []
        for user in users:
            out.append(cursor.execute("SELECT sum(x) FROM t WHERE u = %s", (user,)))
        return out


    def pairs(items):
        found = []
        for a in items:
            for b in items:
                if a != b:
                    found.append((a, b))
        return found + [(x, y) for x in items for y in items]


    def fine(rows, cols):
        return [(r, c) for r in rows for c in cols]


    async def handler(url):
        time.sleep(1)
        sleep(1)
        sp.run(["true"])
        requests.get(url)
        await asyncio.sleep(1)

        def inner():
            time.sleep(1)  # not on the event loop's path

        return inner


    def ends(iterable):
        it = iter(iterable)
        for a in it:
            for b in it:  # one cursor over one iterator: linear, not quadratic
                yield a, b
    """)


async def test_performance_risks_in_changed_code(repo, store):
    sha = repo.commit({"svc.py": PERF})
    out = await analyze(repo, sha, store)
    (n_plus_one,) = rules(out, "CR001")
    assert n_plus_one.line == 12 and n_plus_one.symbol == "totals"
    assert n_plus_one.severity.value == "medium"
    nested = sorted((f.line, f.symbol) for f in rules(out, "IMP301"))
    assert nested == [(19, "pairs"), (22, "pairs")]
    blocking = sorted((f.line, f.extra["call"]) for f in rules(out, "IMP302"))
    assert blocking == [
        (30, "time.sleep"),
        (31, "time.sleep"),
        (32, "subprocess.run"),
        (33, "requests.get"),
    ]
    assert all(f.severity.value == "high" and f.symbol == "handler" for f in rules(out, "IMP302"))


async def test_no_performance_risk_in_test_code(repo, store):
    sha = repo.commit({"tests/test_svc.py": PERF, "svc_test.py": PERF, "svc.py": PERF})
    out = await analyze(repo, sha, store)
    perf = [f for f in out.findings if f.rule in ("CR001", "IMP301", "IMP302")]
    assert perf and {f.path for f in perf} == {"svc.py"}


async def test_the_n_plus_one_finding_matches_the_critics_detector(repo, store):
    from controlroom.core.toolkit.n_plus_one import find_n_plus_one

    sha = repo.commit({"svc.py": PERF})
    out = await analyze(repo, sha, store)
    expected = [(line, symbol) for line, symbol, _ in find_n_plus_one(PERF, "svc.py")]
    assert [(f.line, f.symbol) for f in rules(out, "CR001")] == expected


GRAPH = {
    "pkg/__init__.py": "from pkg.a import func\n",
    "pkg/a.py": "def func():\n    return 1\n\n\ndef other():\n    return 2\n",
    "pkg/b.py": "from pkg import a\n\n\ndef g():\n    return a.func() + a.func()\n",
    "pkg/c.py": "from . import b\nfrom pkg import func\n\n\ndef h():\n    return func() + b.g()\n",
    "pkg/d.py": "import os\n",
    "tests/test_c.py": "import pkg.c\n\n\ndef test_h():\n    assert pkg.c.h() == 3\n",
    "tests/test_a.py": "from pkg.a import other\n\n\ndef test_other():\n    assert other() == 2\n",
}


async def test_blast_radius_matches_a_hand_built_import_graph(repo, store):
    # Hand-built: a <- pkg (re-export), b, test_a; pkg <- c; b <- c; c <- test_c.
    repo.commit(GRAPH)
    sha = repo.commit({"pkg/a.py": GRAPH["pkg/a.py"].replace("return 1", "return 10")})
    out = await analyze(repo, sha, store)
    radius = out.metrics["blast_radius"]["pkg/a.py"]
    assert radius["module"] == "pkg.a"
    assert radius["direct"] == 3  # pkg, pkg.b, tests.test_a
    assert radius["transitive"] == 5  # + pkg.c, tests.test_c
    assert radius["tests_direct"] == 1 and radius["tests"] == 2
    assert radius["call_sites"] == 3  # b calls a.func twice, c calls func through the re-export
    assert out.metrics["graph"]["mode"] == "full"


async def test_the_graph_is_cached_and_updated_incrementally(repo, store):
    repo.commit(GRAPH)
    first = repo.commit({"pkg/d.py": "import os\n\n\ndef d():\n    return os.sep\n"})
    out = await analyze(repo, first, store)
    assert out.metrics["graph"] == {"modules": 7, "mode": "full", "parsed": 7}
    assert out.metrics["blast_radius"]["pkg/d.py"]["direct"] == 0
    # Next commit: only the changed file is parsed; a new importer of d appears.
    second = repo.commit({"pkg/b.py": GRAPH["pkg/b.py"] + "from pkg import d\n"})
    out = await analyze(repo, second, store)
    assert out.metrics["graph"] == {"modules": 7, "mode": "incremental", "parsed": 1}
    third = repo.commit({"pkg/d.py": "import os\n\n\ndef d():\n    return os.sep * 2\n"})
    out = await analyze(repo, third, store)
    radius = out.metrics["blast_radius"]["pkg/d.py"]
    assert (radius["direct"], radius["transitive"], radius["tests"]) == (1, 3, 1)  # b; c; test_c
    # A commit whose parent is not the cached one: the graph catches up with one git diff.
    repo.commit({"pkg/e.py": "from pkg import d\n"})
    fifth = repo.commit({"pkg/d.py": "import os\n\n\ndef d():\n    return os.sep * 3\n"})
    out = await analyze(repo, fifth, store)
    assert out.metrics["graph"]["mode"] == "diff"
    assert out.metrics["blast_radius"]["pkg/d.py"]["direct"] == 2


async def test_findings_carry_the_blast_radius_of_their_module(repo, store):
    repo.commit(GRAPH)
    sha = repo.commit({"pkg/a.py": "def other():\n    return 2\n"})  # func removed
    out = await analyze(repo, sha, store)
    (removed,) = rules(out, "IMP101")
    blast = removed.extra["blast_radius"]
    assert blast["direct"] == 3 and blast["transitive"] == 5
    assert blast["symbol_call_sites"] == 3
    assert blast["callers"] == ["pkg/b.py:5", "pkg/b.py:5", "pkg/c.py:6"]
    assert "prediction" not in removed.extra  # the correlator has no history yet
    assert out.metrics["prediction"] is None


async def test_findings_carry_the_correlators_prediction_when_it_has_history(repo, store):
    import time

    from controlroom.core.correlator.predictor import auto_pattern

    repo.commit(GRAPH)
    sha = repo.commit({"pkg/a.py": "def other():\n    return 2\n"})
    await store.execute(
        "INSERT INTO correlator_predictions (pattern, cpu_avg, memory_avg, response_avg_ms, "
        "samples, response_samples, updated_at) VALUES (?, 12.0, 1.0, NULL, 3, 0, ?)",
        (auto_pattern("pkg/a.py"), time.time()),
    )
    out = await analyze(repo, sha, store)
    (removed,) = rules(out, "IMP101")
    prediction = removed.extra["prediction"]
    assert prediction == out.metrics["prediction"]
    assert prediction["samples"] == 3 and prediction["cpu_delta"] == 12.0
    assert prediction["pattern"] == auto_pattern("pkg/a.py")


async def test_works_without_a_cache(repo):
    repo.commit(GRAPH)
    sha = repo.commit({"pkg/a.py": "def func():\n    return 3\n"})
    out = await analyze(repo, sha, None)
    assert out.metrics["blast_radius"]["pkg/a.py"]["transitive"] == 5
    assert [f.symbol for f in rules(out, "IMP101")] == ["other"]


def test_the_agent_is_registered_as_an_entry_point():
    from controlroom.core.plugins import load_agents

    (agent,) = load_agents(["impact"])
    assert isinstance(agent, ImpactAgent) and agent.name == "impact"


@pytest.mark.parametrize(
    ("path", "module"),
    [
        ("pkg/mod.py", "pkg.mod"),
        ("src/pkg/__init__.py", "pkg"),
        ("top.py", "top"),
    ],
)
def test_module_names(path, module):
    from controlroom.agents.impact.scan import module_name

    assert module_name(path) == module


async def test_docs_and_impact_share_one_parse_and_give_the_same_results(repo, tmp_path):
    import asyncio

    from controlroom.agents.docs.agent import DocWriterAgent
    from controlroom.core.settings import load_defaults
    from controlroom.core.store import Store
    from controlroom.core.toolkit.shared_scan import STARTED_KEY, running_together

    repo.commit(GRAPH)
    sha = repo.commit({"pkg/a.py": "def func(x):\n    return x\n", "svc.py": PERF})
    change = GitRepository(repo.path).changeset(sha)
    settings = load_defaults()
    outputs = {}
    for label, together in (("separate", False), ("shared", True)):
        store = await Store.open(tmp_path / f"{label}.db")
        try:
            contexts = {
                name: AgentContext(
                    repo_path=repo.path,
                    config=settings[name],
                    cache=StoreAgentCache(store, name),
                    settings=settings,
                )
                for name in ("docs", "impact")
            }
            before = change.scratch.get(STARTED_KEY, 0)
            agents = DocWriterAgent(), ImpactAgent()
            running_together(change, agents if together else ())
            docs, impact = await asyncio.gather(
                agents[0].analyze(change, contexts["docs"]),
                agents[1].analyze(change, contexts["impact"]),
            )
            outputs[label] = (docs, impact, change.scratch.get(STARTED_KEY, 0) - before)
        finally:
            await store.close()
    assert outputs["separate"][2] == 0 and outputs["shared"][2] == 1
    for index in (0, 1):
        separate, shared = outputs["separate"][index], outputs["shared"][index]
        assert [(f.rule, f.path, f.line) for f in separate.findings] == [
            (f.rule, f.path, f.line) for f in shared.findings
        ]
        assert separate.findings
    assert (
        outputs["separate"][0].metrics["per_module"] == outputs["shared"][0].metrics["per_module"]
    )
