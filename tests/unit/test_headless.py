"""The headless cycle is core's: a program can run it without the command line or a terminal."""

import pytest

from controlroom.core.errors import ExitCode, UsageError
from controlroom.core.headless import REPORT_SCHEMA, HeadlessRequest, run_headless

RISKY = "def calc(text):\n    return eval(text)\n"


async def test_the_cycle_reports_the_commit_and_sets_the_exit_code(repo, tmp_path):
    repo.commit({"app.py": "x = 1\n"})
    sha = repo.commit({"app.py": RISKY}, "feat: run commands")
    db = str(tmp_path / "store.db")

    lenient = await run_headless(HeadlessRequest(repo=str(repo.path), db=db, agents="critic"))
    assert lenient.report["schema"] == REPORT_SCHEMA and lenient.exit_code is ExitCode.OK
    (commit,) = lenient.report["commits"]
    assert commit["sha"] == sha
    assert any(f["severity"] == "critical" for f in commit["findings"])

    strict = await run_headless(
        HeadlessRequest(repo=str(repo.path), db=db, agents="critic", fail_on="critical", rerun=True)
    )
    assert strict.exit_code is ExitCode.THRESHOLD and strict.report["exit_code"] == 1


async def test_an_agent_that_is_not_installed_is_a_usage_error(repo, tmp_path):
    repo.commit({"app.py": "x = 1\n"})
    request = HeadlessRequest(repo=str(repo.path), db=str(tmp_path / "s.db"), agents="nope")
    with pytest.raises(UsageError, match="not installed: nope"):
        await run_headless(request)


async def test_the_report_without_sla_checks_is_what_the_sla_summary_says(store, tmp_path):
    from controlroom.core.config import Config
    from controlroom.core.headless import NO_SLA_CHECKS
    from controlroom.core.sla import sla_summary

    assert await sla_summary(store, Config({})) == NO_SLA_CHECKS


# A run-once in a fresh interpreter that prints which agent modules it imported.
IMPORTED_AGENTS = (
    "import sys\n"
    "from controlroom.tui.cli import main\n"
    "main(['--run-once', '--quiet', '--agents', sys.argv[2], '--db', sys.argv[1]])\n"
    "print(sorted(m for m in sys.modules if m.startswith('controlroom.agents.')"
    " and m.endswith('.agent')))\n"
)


def imported_agents(repo, db, agents: str) -> str:
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-c", IMPORTED_AGENTS, str(db), agents],
        cwd=repo.path, capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()[-1]  # fmt: skip


def test_one_agent_alone_loads_and_scans_for_itself_only(repo, tmp_path):
    """`--agents docs` neither imports the other enabled agents nor runs their per-file work
    (the shared parse is only for agents analyzing the change set together)."""
    repo.commit({"pkg/a.py": "x = 1\n"})
    repo.commit({"pkg/a.py": "def shout(value):\n    return value.upper()\n"})
    out = imported_agents(repo, tmp_path / "s.db", "docs")
    assert out == "['controlroom.agents.docs.agent']"


def test_agents_analyzing_together_share_one_parse(repo, tmp_path):
    import asyncio

    from controlroom.core.toolkit.shared_scan import STARTED_KEY

    repo.commit({"pkg/a.py": "x = 1\n"})
    repo.commit({"pkg/a.py": "def shout(value):\n    return value.upper()\n"})
    started: list[int] = []

    import controlroom.core.pipeline as pipeline

    original = pipeline.analyze_change

    async def spy(store, workspace, change, agents, **kwargs):
        report = await original(store, workspace, change, agents, **kwargs)
        started.append(change.scratch.get(STARTED_KEY, 0))
        return report

    request = HeadlessRequest(repo=str(repo.path), db=str(tmp_path / "s.db"), agents="docs,impact")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("controlroom.core.analysis.analyze_change", spy)
        asyncio.run(run_headless(request))
    assert started == [1]


def test_a_commit_every_agent_analyzed_already_imports_no_agent(repo, tmp_path):
    """The second run-once of a commit reports the stored results (claimed and done): the
    agents' modules are never imported for it (each loads on first use)."""
    repo.commit({"pkg/a.py": "x = 1\n"})
    repo.commit({"pkg/a.py": "def shout(value):\n    return value.upper()\n"})
    db = tmp_path / "s.db"
    runs = [imported_agents(repo, db, "critic,docs") for _ in range(2)]
    assert runs == ["['controlroom.agents.critic.agent', 'controlroom.agents.docs.agent']", "[]"]
