"""The critic agent on real repositories: real ruff runs on the commit's files."""

from __future__ import annotations

import ast

from controlroom.agents.critic.agent import CriticAgent, CriticSettings
from controlroom.core.git import GitRepository
from controlroom.core.model import Agent, AgentContext, AgentOutput, Severity
from controlroom.core.settings import load_defaults
from controlroom.core.toolkit.n_plus_one import find_n_plus_one
from controlroom.core.toolkit.regions import SourceRegions, scope_chain

PROBLEMS = """import subprocess


def run(cmd):
    subprocess.call(cmd, shell=True)


class Report:
    def ask(self):
        return eval(input())

    def show(self, value):
        print(value)


def names(users):
    out = []
    for user in users:
        out.append(Profile.objects.get(user=user).name)
    return out
"""


async def analyze(repo, sha: str, *, analyze_all: bool = False, config=None) -> AgentOutput:
    change = GitRepository(repo.path).changeset(sha)
    ctx = AgentContext(
        repo_path=repo.path,
        config=config if config is not None else load_defaults()["critic"],
        analyze_all=analyze_all,
    )
    return await CriticAgent().analyze(change, ctx)


def by_rule(output: AgentOutput) -> dict[str, list]:
    found: dict[str, list] = {}
    for finding in output.findings:
        found.setdefault(finding.rule, []).append(finding)
    return found


def test_is_an_agent() -> None:
    assert isinstance(CriticAgent(), Agent)
    assert CriticAgent.name == "critic"


async def test_known_problems_with_severities_symbols_and_snippets(repo) -> None:
    repo.commit({"README.md": "hi\n"})
    sha = repo.commit({"app.py": PROBLEMS})
    output = await analyze(repo, sha)
    rules = by_rule(output)
    shell, evil, printed, loop = rules["S602"][0], rules["S307"][0], rules["T201"][0], None
    loop = rules["CR001"][0]
    assert (shell.severity, shell.line, shell.symbol) == (Severity.HIGH, 5, "run")  # not formatted
    assert shell.snippet == "subprocess.call(cmd, shell=True)"
    assert (evil.severity, evil.symbol, evil.confidence) == (Severity.CRITICAL, "Report.ask", 0.8)
    assert (printed.severity, printed.symbol) == (Severity.LOW, "Report.show")
    assert printed.suggested_fix == "Remove `print`" and printed.confidence == 0.7
    assert (loop.severity, loop.line, loop.symbol) == (Severity.MEDIUM, 19, "names")
    assert "Profile.objects.get" in loop.message
    assert all(f.agent == "critic" and f.path == "app.py" for f in output.findings)
    assert shell.url and shell.url.startswith("https://docs.astral.sh/ruff/rules/")
    assert output.metrics["files"] == 1 and output.metrics["lines"] == PROBLEMS.count("\n")


async def test_only_changed_lines_unless_analyze_all(repo) -> None:
    repo.commit({"app.py": PROBLEMS})
    sha = repo.commit({"app.py": PROBLEMS + "\n\ndef more():\n    print('new')\n"})
    changed = await analyze(repo, sha)
    assert [(f.rule, f.line) for f in changed.findings] == [("T201", 24)]
    everything = await analyze(repo, sha, analyze_all=True)
    assert {"S602", "S307", "T201", "CR001"} <= set(by_rule(everything))
    assert len(by_rule(everything)["T201"]) == 2


async def test_reads_the_commit_not_the_working_tree(repo) -> None:
    sha = repo.commit({"app.py": "print('committed')\n"})
    repo.write({"app.py": "x = eval(input())\n"})
    output = await analyze(repo, sha)
    assert [f.rule for f in output.findings] == ["T201"]


async def test_syntax_error_gives_one_finding(repo) -> None:
    sha = repo.commit({"broken.py": "def f(:\n    pass\nx = (\nprint(1)\n", "ok.py": "x = 1\n"})
    output = await analyze(repo, sha)
    assert len(output.findings) == 1
    (finding,) = output.findings
    assert (finding.rule, finding.path, finding.line) == ("SYNTAX", "broken.py", 1)
    assert finding.severity is Severity.HIGH and "does not parse" in finding.message
    assert output.metrics["syntax_errors"] == 1


async def test_non_python_and_deleted_files_are_ignored(repo) -> None:
    repo.commit({"gone.py": "print(1)\n", "keep.py": "x = 1\n"})
    sha = repo.commit({"gone.py": None, "notes.txt": "eval(input())\n", "script.sh": "eval x\n"})
    output = await analyze(repo, sha)
    assert output.findings == []
    assert output.metrics["files"] == 0


async def test_config_ignore_select_and_severity(repo) -> None:
    sha = repo.commit({"app.py": PROBLEMS})
    config = load_defaults()["critic"] | {
        "ignore": ["S101", "T20", "CR001"],
        "severity": {"S602": "low"},
        "confidence": 0.5,
    }
    output = await analyze(repo, sha, config=config)
    rules = by_rule(output)
    assert "T201" not in rules and "CR001" not in rules
    assert rules["S602"][0].severity is Severity.LOW
    assert rules["S307"][0].severity is Severity.CRITICAL
    only_n1 = await analyze(repo, sha, config={"select": ["CR001"]})
    assert set(by_rule(only_n1)) == {"CR001"}


def test_severity_longest_prefix_wins() -> None:
    settings = CriticSettings.from_config(load_defaults()["critic"])
    assert settings.severity_of("S307") is Severity.CRITICAL
    assert settings.severity_of("S105") is Severity.HIGH
    assert settings.severity_of("B006") is Severity.MEDIUM  # the family's
    assert settings.severity_of("B904") is Severity.LOW  # an idiom point of the family
    assert settings.severity_of("PERF401") is Severity.LOW
    assert settings.severity_of("ZZZ1") is Severity.MEDIUM
    assert settings.confidence_of("S105") == 0.8 and settings.confidence_of("B904") == 0.7


async def test_a_linter_letters_take_only_its_own_codes(repo) -> None:
    """A team that selects flake8-simplify gets its points at the default medium: bandit's ``S``
    (high) is not a prefix of ``SIM108``, nor bugbear's ``B`` of ``BLE001``."""
    sha = repo.commit(
        {
            "pick.py": "def pick(flag):\n    if flag:\n        x = 1\n    else:\n        x = 2\n    return x\n"
        }
    )
    config = load_defaults()["critic"] | {"select": ["S", "B", "SIM", "BLE"]}
    rules = by_rule(await analyze(repo, sha, config=config))
    assert rules["SIM108"][0].severity is Severity.MEDIUM
    settings = CriticSettings.from_config(config | {"severity": {"PL": "low", "S1": "low"}})
    assert settings.severity_of("BLE001") is Severity.MEDIUM
    assert settings.severity_of("PLR0912") is Severity.LOW  # pylint's category letters
    assert settings.severity_of("S105") is Severity.LOW
    policy = settings.test_code
    assert policy.drops("S101") and not policy.drops("SIM101")


def test_n_plus_one_patterns() -> None:
    source = """
import requests
for i in ids:
    requests.get(url)
    cursor.execute("select 1")
    session.get(Model, i)
    safe = i + 1
rows = [Tag.objects.get(pk=t) for t in Tag.objects.all()]
while row := cursor.fetchone():
    handle(row)
for x in Model.objects.all():
    def later():
        return Model.objects.count()
urlopen(url)
"""
    found = [(line, call) for line, _symbol, call in find_n_plus_one(source, "x.py")]
    assert found == [
        (4, "requests.get"),
        (5, "cursor.execute"),
        (6, "session.get"),
        (8, "Tag.objects.get"),
    ]
    assert find_n_plus_one("def f(:\n  for x in y: a.objects.get()\n", "bad.py") == []


def test_partial_parses_give_the_same_symbols_as_a_whole_parse() -> None:
    members = "".join(f"    def m{i}(self):\n        return {i}\n\n" for i in range(60))
    source = (
        '"""Module."""\n\nimport os\n\n\n@decorator\nclass Big(Base):\n    """Doc.\n'
        "text at column zero\n"
        '"""\n\n    x = 1\n\n' + members + "    class Inner:\n        def deep(self):\n"
        "            pass\n\n    # trailing comment\n\n\ndef top():\n    def nested():\n"
        "        pass\n    return nested\n\n\nif os:\n    def conditional():\n        pass\n"
        "\n\nclass Clean:\n" + members + "\n# the end\n"
    )
    tree = ast.parse(source)
    regions = SourceRegions(source)
    for line in range(1, source.count("\n") + 1):
        expected = ".".join(scope_chain(tree, line)) or None
        assert regions.symbol_at(line) == expected, line


async def test_a_variable_naming_a_password_field_is_no_hardcoded_password(repo) -> None:
    """S105-S107 flag names that contain "password"; a name whose last word says it holds a
    name (``password_field_name``, ``token_type``) holds no secret. A real default stays."""
    repo.commit({"app.py": "X = 1\n"})
    sha = repo.commit(
        {
            "app.py": (
                "TOKEN_TYPE = 'bearer'\n"
                "SECRET_KEY = 'hunter2-hunter2'\n\n\n"
                "def check(form, password_field_name='password', token_header='X-Token'):\n"
                "    return form[password_field_name]\n\n\n"
                "def login(user, password='hunter2'):\n"
                "    return user, password\n"
            )
        }
    )
    output = await analyze(repo, sha)
    secrets = sorted((f.rule, f.line) for f in output.findings if f.rule in ("S105", "S107"))
    assert secrets == [("S105", 2), ("S107", 9)]
