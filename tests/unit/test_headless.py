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
