"""The installed command: ``metrics`` alone, ``sla ack`` of an unknown check, ``apply`` usage
errors, and ``docs readme`` turning reST section titles into Markdown headings."""

from __future__ import annotations

from tests.e2e.cli import run

SLA = """
[[sla.checks]]
name = "export"
kind = "file_age"
path = "exports/*.csv"
max_age = "1h"
"""


def where(repo) -> tuple[str, ...]:
    return ("--repo", str(repo.path), "--db", str(repo.path.parent / "state.db"))


def test_metrics_alone_prints_a_summary(repo) -> None:
    repo.commit({"app.py": "x = 1\n"})
    result = run("metrics", *where(repo))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tasks     0")
    assert lines[1].startswith("findings  0")
    assert lines[-1] == "(--json for every figure, 'serve' for a Prometheus endpoint)"
    assert result.stderr == ""


def test_sla_ack_names_an_unknown_check(repo) -> None:
    repo.commit({"controlroom.toml": SLA, "app.py": "x = 1\n"})
    result = run("sla", "ack", "exprot", *where(repo))
    assert result.returncode == 2
    assert result.stderr == (
        "controlroom: error: sla ack: no SLA check named 'exprot'; the checks are export\n"
    )
    known = run("sla", "ack", "export", *where(repo))
    assert known.returncode == 2 and "is not violated" in known.stderr


def test_apply_usage_errors_say_what_to_do(repo) -> None:
    repo.commit({"app.py": "x = 1\n"})
    both = run("apply", "--approved", "3", *where(repo))
    assert both.returncode == 2
    assert both.stderr == (
        "controlroom: error: apply: --approved already takes every approved task; "
        "drop the task ids (3) or drop --approved\n"
    )
    neither = run("apply", *where(repo))
    assert neither.returncode == 2
    assert "give their ids (controlroom apply 12 15) or --approved" in neither.stderr
    word = run("apply", "three", *where(repo))
    assert word.returncode == 2 and "not a whole number: 'three'" in word.stderr


PACKAGE_INIT = '''"""
Requests HTTP Library
~~~~~~~~~~~~~~~~~~~~~

Requests is an HTTP library, written in Python, for human beings.

Usage
-----
Call it.
"""
'''

MODULE = '''"""
=======
Helpers
=======

Small things.
"""


def helper() -> int:
    """Return one."""
    return 1
'''


def test_docs_readme_turns_rest_titles_into_markdown_headings(tmp_path) -> None:
    package = tmp_path / "requests"
    package.mkdir()
    (package / "__init__.py").write_text(PACKAGE_INIT)
    (package / "helpers.py").write_text(MODULE)
    result = run("docs", "readme", str(package), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "~~~" not in result.stdout and "===" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        "# requests",
        "",
        "## Requests HTTP Library",
        "",
        "Requests is an HTTP library, written in Python, for human beings.",
    ]
    assert "| `requests.helpers` | Helpers: Small things. |" not in lines
    assert "| `requests.helpers` | Helpers |" in lines
