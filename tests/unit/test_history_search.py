"""History search on a real repository's history: commits, hunks, findings and decisions indexed
as each commit is analyzed, ranked by BM25 or by meaning, through the core and the CLI."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from controlroom.core.config import load_config
from controlroom.core.embeddings import embedder
from controlroom.core.history_search import indexed_counts, search
from controlroom.core.history_semantic import catch_up, semantic_search
from controlroom.core.model import Severity, TaskState
from controlroom.core.pipeline import analyze_commit
from controlroom.core.queue import TaskQueue
from controlroom.core.store import Store
from controlroom.core.workspace import Workspace
from controlroom.tui.cli import main
from tests.unit.spine_helpers import ScriptedAgent

EVAL = ScriptedAgent("critic", "eval(", "S307", severity=Severity.HIGH)
VIEWS = '''\
def paginate(items, page, size):
    """One page of items."""
    start = page * size
    return items[start:start + size]
'''
HELPERS = """\
def slugify(text):
    # pagination links use slugs too
    return text.lower().replace(" ", "-")
"""


@pytest.fixture
async def history(repo, tmp_path):
    """Four real commits, each analyzed as it lands (the index grows with each analysis)."""
    workspace = Workspace(repo.path, load_config(repo.path), tmp_path / "state.db")
    store = await Store.open(workspace.db_path)
    shas = {}
    steps = [
        ("seed", {"README.md": "demo\n"}, "initial import"),
        ("views", {"app/views.py": VIEWS}, "Fix pagination off-by-one in the list view"),
        ("helpers", {"app/helpers.py": HELPERS}, "Add slug helpers"),
        ("calc", {"app/calc.py": "def run(text):\n    return eval(text)\n"}, "Evaluate formulas"),
    ]
    for name, files, message in steps:
        shas[name] = repo.commit(files, message)
        await analyze_commit(store, workspace, shas[name], [EVAL])
    try:
        yield repo, workspace, store, shas
    finally:
        await store.close()


async def test_the_commit_about_it_outranks_a_passing_mention(history) -> None:
    _repo, _workspace, store, shas = history

    hits = await search(store, "pagination")

    assert [(h.kind, h.commit) for h in hits[:1]] == [("commit", shas["views"])]
    assert ("hunk", shas["helpers"]) in [(h.kind, h.commit) for h in hits]
    assert "[pagination]" in next(h.snippet for h in hits if h.commit == shas["helpers"])


async def test_hunks_findings_and_decisions_are_found(history) -> None:
    _repo, _workspace, store, shas = history
    [hunk] = await search(store, "start + size", kinds=["hunk"])
    assert (hunk.commit, hunk.path, hunk.line) == (shas["views"], "app/views.py", 1)
    [finding] = await search(store, "S307")
    assert (finding.kind, finding.commit, finding.path) == ("finding", shas["calc"], "app/calc.py")
    queue = TaskQueue(store)
    [task] = await queue.list()
    await queue.decide(task.id, TaskState.REJECTED, reason="formulas come from our own config")

    [decision] = await search(store, "own config")  # caught up from the log before searching

    assert decision.kind == "decision" and decision.title.startswith(f"rejected task {task.id}")


async def test_all_words_first_then_any(history) -> None:
    _repo, _workspace, store, shas = history
    both = await search(store, "slug helpers")
    assert {h.commit for h in both} == {shas["helpers"]}
    either = await search(store, "slugify paginate")  # no document has both
    assert {h.commit for h in either} == {shas["helpers"], shas["views"]}


async def test_indexing_is_incremental_and_a_reanalysis_replaces_its_documents(history) -> None:
    repo, workspace, store, shas = history
    before = await indexed_counts(store)
    await analyze_commit(store, workspace, shas["calc"], [EVAL])  # again: nothing doubles
    assert await indexed_counts(store) == before
    sha = repo.commit({"app/cache.py": "def memoize(fn):\n    return fn\n"}, "Memoize lookups")
    assert await search(store, "memoize") == []  # not analyzed yet

    await analyze_commit(store, workspace, sha, [EVAL])

    assert {h.commit for h in await search(store, "memoize")} == {sha}
    after = await indexed_counts(store)
    assert (after["commit"], after["hunk"]) == (before["commit"] + 1, before["hunk"] + 1)


async def test_the_cli_prints_ranked_results_and_json(history, capsys) -> None:
    repo, workspace, _store, shas = history
    args = ["history", "search", "pagination", "--repo", str(repo.path), "--db"]
    assert await asyncio.to_thread(main, [*args, str(workspace.db_path), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["kind"] == "commit" and rows[0]["commit"] == shas["views"]
    assert await asyncio.to_thread(main, [*args, str(workspace.db_path)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"commit   {shas['views'][:10]}") and "off-by-one" in first
    empty = ["history", "search", "  ", "--db", str(workspace.db_path)]
    assert await asyncio.to_thread(main, empty) == 2


async def test_commits_analyzed_before_the_migration_are_searchable(tmp_path) -> None:
    old = await Store.open(tmp_path / "state.db", migrate=False)
    await old.migrate(up_to=12)
    await old.execute(
        "INSERT INTO commits (sha, subject, author, committed_at, analyzed_at) "
        "VALUES ('abc123', 'Harden the upload handler', 'dev', 100, 100)"
    )
    await old.execute(
        "INSERT INTO findings (commit_sha, agent, rule, severity, path, line, message, "
        "confidence, fingerprint) VALUES ('abc123', 'critic', 'S108', 'medium', 'app/up.py', 3, "
        "'insecure temporary file', 0.7, 'fp')"
    )
    await old.close()
    store = await Store.open(tmp_path / "state.db")
    try:
        assert [h.kind for h in await search(store, "upload")] == ["commit"]
        assert [h.kind for h in await search(store, "temporary")] == ["finding"]
    finally:
        await store.close()


# -- semantic mode (core/history_semantic.py): the optional extra is installed with [dev] ---------


async def test_semantic_mode_finds_by_meaning_what_shares_no_word(history) -> None:
    _repo, _workspace, store, shas = history
    assert await search(store, "paging bug") == []  # no document has either word

    hits = await semantic_search(store, "paging bug", limit=3)

    assert (hits[0].kind, hits[0].commit) == ("commit", shas["views"])
    assert hits[0].score > hits[-1].score > 0
    [hunk] = await semantic_search(store, "running user text as code", kinds=["hunk"], limit=1)
    assert (hunk.commit, hunk.path) == (shas["calc"], "app/calc.py")


async def test_semantic_vectors_are_kept_and_only_new_or_replaced_documents_are_embedded(
    history,
) -> None:
    repo, workspace, store, shas = history
    await semantic_search(store, "pagination")
    model = embedder()
    assert await catch_up(store, model) == 0  # every document has its vector
    sha = repo.commit({"app/cache.py": "def memoize(fn):\n    return fn\n"}, "Memoize lookups")
    await analyze_commit(store, workspace, sha, [EVAL])
    await analyze_commit(store, workspace, shas["calc"], [EVAL])  # replaces its documents

    embedded = await catch_up(store, model)

    counts = await indexed_counts(store)
    assert 0 < embedded <= sum(counts.values())
    stored = await store.fetchval(
        "SELECT count(*) FROM history_docs d WHERE EXISTS (SELECT 1 FROM history_vector_blocks b "
        "WHERE d.id BETWEEN b.first_doc AND b.last_doc)"
    )
    assert stored == sum(counts.values())  # a replaced document's block was embedded again
    hits = await semantic_search(store, "caching results of a function", kinds=["commit"], limit=1)
    assert [h.commit for h in hits] == [sha]
    # A catch-up cut short before it cleared its gaps writes those documents again: one hit each.
    await store.execute("INSERT INTO history_vector_gaps (first_doc, last_doc) VALUES (0, 1e9)")
    assert await catch_up(store, model) == sum(counts.values())
    hits = await semantic_search(store, "pagination", limit=100)
    assert len(hits) == len({(h.kind, h.ref) for h in hits})


async def test_the_cli_searches_by_meaning_and_says_when_the_extra_is_missing(
    history, capsys, monkeypatch
) -> None:
    repo, workspace, _store, shas = history
    args = ["history", "search", "paging bug", "--semantic", "--json", "--repo", str(repo.path)]
    assert await asyncio.to_thread(main, [*args, "--db", str(workspace.db_path)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["commit"] == shas["views"]

    monkeypatch.setitem(sys.modules, "wordllama", None)  # the extra not installed
    embedder.cache_clear()
    try:
        code = await asyncio.to_thread(main, [*args, "--db", str(workspace.db_path)])
    finally:
        embedder.cache_clear()
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "controlroom[semantic]" in err and "wordllama" in err
