"""the agents' Claude steps (agents/*/claude.py) against the fake server: review findings, generated tests validated by a real
pytest run (with escalation), docstring summaries, impact summaries; all None offline."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from controlroom.agents.critic import claude as critic_claude
from controlroom.agents.docs import claude as docs_claude
from controlroom.agents.impact import claude as impact_claude
from controlroom.agents.testgen import claude as testgen_claude
from controlroom.core.config import load_config
from controlroom.core.llm.assistant import make_assistant_factory
from controlroom.core.llm.ledger import recent_calls
from controlroom.core.model import ChangeSet, FileChange, FileStatus, LineRange, Severity
from controlroom.core.store import Store
from tests.fake_anthropic import FAST_LLM, FakeAnthropic, llm_env

SOURCE = "import os\n\n\nclass Box:\n    def run(self, cmd):\n        return os.system(cmd)\n"


def change_set(tmp_path: Path) -> ChangeSet:
    file = FileChange("box.py", FileStatus.ADDED, new_text=SOURCE, changed_lines=(LineRange(5, 6),))
    return ChangeSet(tmp_path, "a" * 40, None, "add Box", "me", 0.0, (file,))


@pytest.fixture
def fake():
    with FakeAnthropic() as server:
        yield server


def assistant(store: Store, fake: FakeAnthropic, agent: str):
    config = load_config(None).with_overrides(FAST_LLM)
    purpose = {"critic": "review"}.get(agent, agent)
    return make_assistant_factory(config, store, agent_name=agent, env=llm_env(fake))(purpose)


async def test_offline_everything_is_none(tmp_path: Path) -> None:
    change = change_set(tmp_path)
    assert await critic_claude.review_hunks(None, change) == []
    assert await testgen_claude.write_test(None, module="m", qualname="f", source="") is None
    assert await docs_claude.summarize_docstring(None, qualname="f", path="m.py", source="") is None
    assert await impact_claude.impact_summary(None, change, changes=[], dependents=[]) is None


def test_hunks_text_numbers_changed_lines(tmp_path: Path) -> None:
    text = critic_claude.hunks_text(change_set(tmp_path))
    assert "--- box.py" in text
    assert "    6+         return os.system(cmd)" in text and "    3  " in text


async def test_review_becomes_critic_findings(
    store: Store, fake: FakeAnthropic, tmp_path: Path
) -> None:
    fake.script(fake.ok({"findings": [
        {"path": "box.py", "line": 6, "category": "security", "severity": "critical",
         "message": "Shell command built from input.", "confidence": 0.9,
         "suggested_fix": "use subprocess.run([...])"},
        {"path": "elsewhere.py", "line": 1, "category": "bug", "severity": "low",
         "message": "invented", "confidence": 0.5},
        {"path": "box.py", "line": 999, "category": "bug", "severity": "low",
         "message": "past the end", "confidence": 0.5},
    ]}))  # fmt: skip
    findings = await critic_claude.review_hunks(
        assistant(store, fake, "critic"), change_set(tmp_path)
    )
    [finding] = findings
    assert (finding.agent, finding.rule, finding.severity) == (
        "critic",
        "LLM-REVIEW/security",
        Severity.CRITICAL,
    )
    assert (finding.path, finding.line, finding.symbol) == ("box.py", 6, "Box.run")
    assert finding.snippet == "return os.system(cmd)" and finding.confidence == 0.9
    assert finding.extra["on_changed_line"] is True
    [row] = await recent_calls(store)
    assert row["tier"] == "sonnet" and row["rule"] == "purpose:review"
    assert "os.system(cmd)" in fake.requests[0].body["messages"][0]["content"]


async def test_generated_test_is_validated_by_pytest_and_escalated(
    store: Store, fake: FakeAnthropic, tmp_path: Path
) -> None:
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    failing = "from calc import add\n\n\ndef test_add():\n    assert add(1, 1) == 3\n"
    passing = "from calc import add\n\n\ndef test_add():\n    assert add(1, 1) == 2\n    assert add(-1, 1) == 0\n"
    fake.script(fake.ok({"code": failing}), fake.ok({"code": passing}))
    runs = []

    async def run_pytest(code: str) -> bool:
        target = tmp_path / "test_generated.py"
        target.write_text(code, encoding="utf-8")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(target),
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        runs.append(await asyncio.wait_for(proc.wait(), 60))
        return runs[-1] == 0

    code = await testgen_claude.write_test(
        assistant(store, fake, "tests"), module="calc", qualname="add",
        source="def add(a, b):\n    return a + b", validate=run_pytest,
    )  # fmt: skip
    assert code == passing and runs == [1, 0]
    rows = list(reversed(await recent_calls(store)))
    assert [(r["tier"], r["status"]) for r in rows] == [("sonnet", "invalid"), ("opus", "ok")]


async def test_unparsable_test_is_never_offered(store: Store, fake: FakeAnthropic) -> None:
    fake.default = fake.ok({"code": "def broken(:\n    pass  # not python at all"})
    code = await testgen_claude.write_test(
        assistant(store, fake, "tests"), module="m", qualname="f", source=""
    )
    assert code is None and fake.count == 2


async def test_docstring_summary(store: Store, fake: FakeAnthropic) -> None:
    fake.script(fake.ok({"summary": '"Return the sum of two numbers"'}))
    summary = await docs_claude.summarize_docstring(
        assistant(store, fake, "docs"), qualname="add", path="calc.py", source="def add(a, b): ..."
    )
    assert summary == "Return the sum of two numbers."
    [row] = await recent_calls(store)
    assert row["tier"] == "haiku"


async def test_impact_summary(store: Store, fake: FakeAnthropic, tmp_path: Path) -> None:
    fake.script(
        fake.ok({"summary": "Box.run now  shells out.  Callers pass user input.", "risk": "high"})
    )
    result = await impact_claude.impact_summary(
        assistant(store, fake, "impact"), change_set(tmp_path),
        changes=["Box.run added"], dependents=["cli.main"],
    )  # fmt: skip
    assert result == {"summary": "Box.run now shells out. Callers pass user input.", "risk": "high"}
    [row] = await recent_calls(store)
    assert row["tier"] == "haiku" and row["rule"] == "purpose:impact"  # never by words


async def test_critic_with_claude_converges_with_ruff_on_the_symbol(
    store: Store, fake: FakeAnthropic, tmp_path: Path
) -> None:
    from controlroom.agents.critic.agent import CriticAgent
    from controlroom.core.convergence import converge
    from controlroom.core.model import AgentContext

    fake.script(fake.ok({"findings": [
        {"path": "box.py", "line": 6, "category": "security", "severity": "high",
         "message": "Shell command built from input.", "confidence": 0.7},
    ]}))  # fmt: skip
    # The review alone (the triage of S605 is tested on its own below).
    config = load_config(None).with_overrides({**FAST_LLM, "critic.triage": False})
    factory = make_assistant_factory(config, store, agent_name="critic", env=llm_env(fake))
    ctx = AgentContext(
        repo_path=tmp_path, config=config.section("critic"), assistant_factory=factory
    )
    output = await CriticAgent().analyze(change_set(tmp_path), ctx)
    rules = {f.rule for f in output.findings}
    assert "LLM-REVIEW/security" in rules and "S605" in rules
    assert output.metrics["llm_findings"] == 1
    merged = {c.rule: c for c in converge(output.findings)}
    assert merged["S605"].symbol == merged["LLM-REVIEW/security"].symbol == "Box.run"
    assert len(fake.requests) == 1


async def test_critic_offline_sends_nothing(tmp_path: Path) -> None:
    from controlroom.agents.critic.agent import CriticAgent
    from controlroom.core.model import AgentContext

    ctx = AgentContext(repo_path=tmp_path, config=load_config(None).section("critic"))
    output = await CriticAgent().analyze(change_set(tmp_path), ctx)
    assert "llm_findings" not in output.metrics
    assert {f.rule for f in output.findings} >= {"S605"}


async def test_tests_agent_offers_claudes_test_only_after_it_passes_in_the_sandbox(
    store: Store, fake: FakeAnthropic, repo
) -> None:
    from controlroom.agents.testgen.agent import TestGeneratorAgent
    from controlroom.core.git import GitRepository
    from controlroom.core.model import AgentContext

    sha = repo.commit({"pick.py": "def pick(items, index):\n    return items[index]\n"}, "add pick")
    failing = "from pick import pick\n\n\ndef test_pick():\n    assert pick([1, 2], 0) == 2\n"
    passing = "from pick import pick\n\n\ndef test_pick():\n    assert pick([1, 2], 1) == 2\n"
    fake.script(fake.ok({"code": failing}), fake.ok({"code": passing}))
    config = load_config(None).with_overrides(FAST_LLM)
    git = GitRepository(repo.path)
    try:
        ctx = AgentContext(
            repo_path=repo.path,
            config={"timeout": 30.0, "max_examples": 20},
            worktree_factory=git.worktree,
            assistant_factory=make_assistant_factory(
                config, store, agent_name="tests", env=llm_env(fake)
            ),
        )
        output = await TestGeneratorAgent().analyze(git.changeset(sha), ctx)
    finally:
        git.close()
    [finding] = output.findings
    assert finding.suggested_fix == passing
    assert finding.extra["validation"]["status"] == "passed"
    assert finding.extra["property"] == "claude"
    assert fake.count == 2  # the failing answer was retried once, a tier up
    assert repo.git("status", "--porcelain") == ""


async def test_the_cheapest_tier_triages_the_critics_security_findings(
    repo, store: Store, fake: FakeAnthropic
) -> None:
    """With a key, the real critic asks the haiku tier about its security findings: a confirmed
    one keeps its severity, a dismissed one drops to low; both carry the reason, in the message
    and in ``extra["triage"]``; the prompt shows the flagged code."""
    from controlroom.agents.critic.agent import CriticAgent
    from controlroom.core.git import GitRepository
    from controlroom.core.model import AgentContext
    from controlroom.core.settings import load_defaults

    repo.commit({"app.py": "X = 1\n"})
    sha = repo.commit(
        {
            "app.py": (
                "import os\nimport subprocess\n\n\n"
                "def run(cmd):\n    return os.system(cmd)\n\n\n"
                "def listing(script):\n    return subprocess.call(script, shell=True)\n"
            )
        }
    )
    fake.script_for("submit_security_triage", fake.ok({"verdicts": [
        {"id": 1, "verdict": "confirm", "reason": "cmd reaches the shell unchecked."},
        {"id": 2, "verdict": "dismiss", "reason": "Only the app's own config passes script."},
        {"id": 7, "verdict": "dismiss", "reason": "an id that was never sent"},
    ]}))  # fmt: skip
    fake.script_for("submit_critic_review", fake.ok({"findings": []}))  # asked first
    config = load_config(None).with_overrides(FAST_LLM)
    factory = make_assistant_factory(config, store, agent_name="critic", env=llm_env(fake))
    ctx = AgentContext(
        repo_path=repo.path,
        config=load_defaults()["critic"],
        assistant_factory=factory,
        settings=config.data,
    )
    output = await CriticAgent().analyze(GitRepository(repo.path).changeset(sha), ctx)
    by_rule = {f.rule: f for f in output.findings}
    system, shell = by_rule["S605"], by_rule["S602"]
    assert system.severity is Severity.HIGH and system.extra["triage"]["verdict"] == "confirm"
    assert system.message.endswith("(triage: confirmed: cmd reaches the shell unchecked.)")
    assert shell.severity is Severity.LOW and shell.extra["triage"]["severity_before"] == "high"
    assert "(triage: dismissed: Only the app's own config passes script.)" in shell.message
    assert output.metrics["triage"] == {"asked": 2, "confirmed": 1, "dismissed": 1}
    triage_row = next(r for r in await recent_calls(store) if r["rule"] == "purpose:triage")
    assert triage_row["tier"] == "haiku"
    (asked,) = [r for r in fake.requests if r.body["tools"][0]["name"] == "submit_security_triage"]
    prompt = asked.body["messages"][0]["content"]
    assert "[1] S605 app.py:6" in prompt and "    6> " in prompt
