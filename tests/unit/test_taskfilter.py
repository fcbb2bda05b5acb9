"""The task filter language: the parser, and its SQL on a real store seeded with tasks."""

from __future__ import annotations

import pytest

from controlroom.core.model import TaskState
from controlroom.core.queue import TaskQueue
from controlroom.core.taskfilter import OPEN_STATES, Term, parse, tokens
from tests.app.seed import insert_tasks


def test_tokens_words_fields_phrases_and_negation():
    assert tokens('critic  "two words" -path:tests/ rule:"S 307" -old') == [
        Term(None, "critic"),
        Term(None, "two words"),
        Term("path", "tests/", negated=True),
        Term("rule", "S 307"),
        Term(None, "old", negated=True),
    ]
    # an unknown name: is part of the word (a URL, a path with a line number)
    assert tokens("http://x a.py:12 Sev:HIGH") == [
        Term(None, "http://x"),
        Term(None, "a.py:12"),
        Term("sev", "HIGH"),
    ]
    assert tokens('"unclosed phrase') == [Term(None, "unclosed phrase")]


def test_states_and_severities():
    assert parse("").states is None
    assert parse("state:pending,snoozed").states == (TaskState.PENDING, TaskState.SNOOZED)
    assert parse("state:open").states == OPEN_STATES
    assert parse("state:all").states == tuple(TaskState)
    assert TaskState.RESOLVED not in parse("state:all -state:resolved").states
    [term] = parse("sev:>=high").text_terms
    assert term.value == "critical,high"
    assert parse("sev:<medium").text_terms[0].value == "low,info"
    assert parse("sev:crit,med").text_terms[0].value == "critical,medium"
    for bad in ("sev:urgent", "state:done", "rule:"):
        with pytest.raises(ValueError):
            parse(bad)


@pytest.fixture
async def queue(store):
    # 30 tasks: severity cycles critical..info, rules S307 S602 B006 PERF401 T201 C901,
    # agents "critic,tests" when i % 3 == 0 else "critic"
    await insert_tasks(store, 15, path_prefix="src/pkg/m")
    await insert_tasks(store, 15, start=15, path_prefix="tests/unit/test_m")
    return TaskQueue(store)


async def paths(queue: TaskQueue, search: str, states=None) -> set[str]:
    tasks = await queue.list(search=search, states=states, limit=100)
    assert await queue.count(search=search, states=states) == len(tasks)
    return {t.path for t in tasks}


async def test_words_are_anded_across_fields(queue):
    # each word alone matches; together they must both match (the old filter wanted the phrase)
    both = await paths(queue, "tests S307")
    assert both == {"src/pkg/m0.py", "src/pkg/m6.py", "src/pkg/m12.py", "tests/unit/test_m18.py",
                    "tests/unit/test_m24.py"}  # fmt: skip
    assert await paths(queue, "S307 tests") == both
    assert await paths(queue, "critic S307") == both  # every S307 task has critic
    assert await paths(queue, '"critic S307"') == set()  # a phrase is one substring


async def test_fields_negation_and_like_characters(queue):
    assert await paths(queue, "path:tests/ rule:S307") == {
        "tests/unit/test_m18.py",
        "tests/unit/test_m24.py",
    }
    assert await paths(queue, "rule:s307 -path:tests/ -agent:tests") == set()
    assert await queue.count(search="-agent:tests") == 20
    assert await queue.count(search="sev:>=high") == 12
    assert await queue.count(search="-sev:info sev:>=medium") == 18
    assert await queue.count(search="message:'task 1'") == 0
    assert await queue.count(search='"task 1:"') == 1
    assert await queue.count(search="m_") == 0  # _ is a character, not LIKE's wildcard
    assert await queue.count(search="100%") == 0


async def test_states_in_the_filter_replace_the_default(queue, store):
    await store.execute("UPDATE tasks SET state = 'resolved' WHERE path = 'src/pkg/m0.py'")
    default = [s for s in TaskState if s is not TaskState.RESOLVED]
    assert "src/pkg/m0.py" not in await paths(queue, "S307", default)
    assert await paths(queue, "S307 state:resolved", default) == {"src/pkg/m0.py"}
    assert "src/pkg/m0.py" in await paths(queue, "S307 state:all", default)
    assert await paths(queue, "state:approved", default) == set()
