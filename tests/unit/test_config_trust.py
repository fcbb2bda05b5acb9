"""The trust model of configuration: the user config, untrusted repository configs, trust records.

Real files in tmp dirs; the XDG directories are per-test tmp dirs (autouse fixture in conftest).
"""

import os
from pathlib import Path

import pytest

from controlroom.core import trust
from controlroom.core.config import load_config, repo_layer
from controlroom.core.errors import ConfigError
from controlroom.core.locations import trust_file, user_config_file

DEFAULT_BASE_URL = load_config(None).get("llm.base_url")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def user(text: str) -> Path:
    return write(user_config_file(), text)


def trust_repo(repo: Path) -> None:
    layer = repo_layer(repo)
    assert layer is not None
    trust.trust(repo, layer.path.name, layer.digest)


def check(name: str, kind: str, **fields: str) -> str:
    body = "".join(f"{key} = {value!r}\n" for key, value in fields.items())
    return f'[[sla.checks]]\nname = "{name}"\nkind = "{kind}"\n{body}'


def test_locations_follow_xdg(tmp_path):
    assert user_config_file() == Path(os.environ["XDG_CONFIG_HOME"]) / "controlroom/config.toml"
    assert trust_file() == Path(os.environ["XDG_DATA_HOME"]) / "controlroom/trusted.toml"


def test_base_url_from_an_untrusted_repo_is_ignored_and_from_the_user_config_applies(tmp_path):
    write(tmp_path / "controlroom.toml", '[llm]\nbase_url = "http://evil.invalid/"\n')
    config = load_config(tmp_path)
    assert config.get("llm.base_url") == DEFAULT_BASE_URL
    assert config.ignored_untrusted == ["llm.base_url"]
    assert "until you run 'controlroom trust" in config.notice

    (tmp_path / "controlroom.toml").unlink()
    user('[llm]\nbase_url = "http://127.0.0.1:9/"\n')
    config = load_config(tmp_path)
    assert config.get("llm.base_url") == "http://127.0.0.1:9/"
    assert config.ignored_untrusted == [] and config.notice == ""


def test_precedence_defaults_user_repo_explicit_file(tmp_path):
    user("[runtime]\npoll_interval = 4.0\nmax_commits_per_cycle = 7\n")
    write(tmp_path / "controlroom.toml", "[runtime]\npoll_interval = 3.0\n")
    config = load_config(tmp_path)
    assert config.get("runtime.poll_interval") == 3.0  # the repository's harmless key wins
    assert config.get("runtime.max_commits_per_cycle") == 7  # the user's stays under it
    assert config.sources == [user_config_file(), tmp_path / "controlroom.toml"]
    explicit = write(tmp_path / "ops.toml", "[runtime]\npoll_interval = 9.0\n")
    assert load_config(tmp_path, explicit).get("runtime.poll_interval") == 9.0
    assert load_config(tmp_path, explicit).get("runtime.max_commits_per_cycle") == 7


def test_an_explicit_config_file_is_trusted(tmp_path):
    explicit = write(tmp_path / "ops.toml", '[llm]\nbase_url = "http://127.0.0.1:9/"\n')
    config = load_config(tmp_path, explicit)
    assert config.get("llm.base_url") == "http://127.0.0.1:9/" and config.ignored_untrusted == []


def test_trust_holds_for_that_content_only(tmp_path):
    path = write(tmp_path / "controlroom.toml", '[apply]\nbranch_prefix = "main-"\n')
    default_prefix = load_config(None).get("apply.branch_prefix")
    assert load_config(tmp_path).get("apply.branch_prefix") == default_prefix
    trust_repo(tmp_path)
    assert load_config(tmp_path).get("apply.branch_prefix") == "main-"
    write(path, '[apply]\nbranch_prefix = "main-"\n# edited\n')
    config = load_config(tmp_path)
    assert config.get("apply.branch_prefix") == default_prefix
    assert "changed since you trusted it" in config.notice
    assert trust.revoke(tmp_path) and not trust.revoke(tmp_path)


def test_trust_is_bound_to_the_repository_path(tmp_path):
    text = '[llm]\nbase_url = "http://127.0.0.1:9/"\n'
    write(tmp_path / "a" / "controlroom.toml", text)
    write(tmp_path / "b" / "controlroom.toml", text)
    trust_repo(tmp_path / "a")
    assert load_config(tmp_path / "a").get("llm.base_url") == "http://127.0.0.1:9/"
    assert load_config(tmp_path / "b").get("llm.base_url") == DEFAULT_BASE_URL


def test_pyproject_trust_survives_edits_outside_its_table(tmp_path):
    table = '[tool.controlroom.llm]\nbase_url = "http://127.0.0.1:9/"\n'
    path = write(tmp_path / "pyproject.toml", f'[project]\nversion = "1"\n\n{table}')
    trust_repo(tmp_path)
    write(path, f'[project]\nversion = "2"\n\n{table}')
    assert load_config(tmp_path).get("llm.base_url") == "http://127.0.0.1:9/"
    write(path, f'[project]\nversion = "2"\n\n{table}[tool.controlroom.apply]\ntimeout = 5.0\n')
    assert load_config(tmp_path).get("llm.base_url") == DEFAULT_BASE_URL


def test_a_trust_file_others_can_write_is_ignored(tmp_path):
    write(tmp_path / "controlroom.toml", '[llm]\nbase_url = "http://127.0.0.1:9/"\n')
    trust_repo(tmp_path)
    trust_file().chmod(0o666)
    assert load_config(tmp_path).get("llm.base_url") == DEFAULT_BASE_URL


def test_privileged_checks_are_dropped_and_the_rest_kept(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "link").symlink_to(outside)
    write(
        repo / "controlroom.toml",
        "[sla]\ngate = ['run', 'fresh']\n"
        + check("run", "command", command="true")
        + check("get", "http", url="http://127.0.0.1:9/")
        + check("db", "sql_age", database="data/x.db", query="select 1", max_delay="1h")
        + check("abs", "file_age", path="/etc/*", max_age="1h")
        + check("up", "file_age", path="data/../../*", max_age="1h")
        + check("glob-up", "file_age", path="data/*/../../../*", max_age="1h")
        + check("linked", "file_age", path="link/*", max_age="1h")
        + check("fresh", "file_age", path="data/**/*.csv", max_age="1h")
        + check("pid", "process", pidfile="/run/x.pid")
        + check("name", "process", process_name="postgres")
        + check("disk", "disk", max_pct=90)
        + check("beat", "heartbeat"),
    )
    config = load_config(repo)
    kept = [c["name"] for c in config.get("sla.checks")]
    assert kept == ["fresh", "name", "disk", "beat"]
    assert config.get("sla.gate") == ["fresh"]
    assert config.ignored_untrusted == [
        "sla.checks[0] command",
        "sla.checks[1] http",
        "sla.checks[2] sql_age",
        "sla.checks[3] file_age",
        "sla.checks[4] file_age",
        "sla.checks[5] file_age",
        "sla.checks[6] file_age",
        "sla.checks[8] process",
    ]
    assert ", and 2 more) until" in config.notice


def test_user_checks_stay_beside_the_repository_checks(tmp_path):
    user(check("mine", "command", command="true"))
    write(tmp_path / "controlroom.toml", check("theirs", "command", command="true"))
    config = load_config(tmp_path)
    assert [c["name"] for c in config.get("sla.checks")] == ["mine"]


def test_other_privileged_keys(tmp_path):
    user("[tests]\ntimeout = 30.0\n[budgets]\ndaily_usd = 5.0\n[llm]\nenabled = false\n")
    write(
        tmp_path / "controlroom.toml",
        "[tests]\ntimeout = 10.0\nmemory_mb = 99999\n"
        "[budgets]\ndaily_usd = 0.0\nhard_cap = false\n"
        "[llm]\nenabled = true\n"
        '[sla]\nwebhook_url = "http://127.0.0.1:9/"\n'
        "[correlator]\nbaseline_on_commit = true\ndisk_path = '/home'\n"
        "[correlator.services]\nweb = 'gunicorn'\ndb = 'pidfile:/run/pg.pid'\n"
        "[correlator.endpoints]\napi = 'http://127.0.0.1:9/'\n"
        "[llm.prices.m]\ninput = 0.0\n",
    )
    config = load_config(tmp_path)
    assert config.get("tests.timeout") == 10.0  # lowering a sandbox limit is allowed
    assert config.get("tests.memory_mb") == load_config(None).get("tests.memory_mb")
    assert config.get("budgets.daily_usd") == 5.0 and config.get("llm.enabled") is False
    assert config.get("correlator.services") == {"web": "gunicorn"}
    assert sorted(config.ignored_untrusted) == [
        "budgets.daily_usd",
        "budgets.hard_cap",
        "correlator.baseline_on_commit",
        "correlator.disk_path",
        "correlator.endpoints.api",
        "correlator.services.db",
        "llm.enabled",
        "llm.prices.m",
        "sla.webhook_url",
        "tests.memory_mb",
    ]


def test_a_value_equal_to_the_operators_is_not_reported(tmp_path):
    write(tmp_path / "controlroom.toml", '[llm]\nenabled = true\nbase_url = ""\n')
    assert load_config(tmp_path).ignored_untrusted == []


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[agents]\n\ntimeout = nan\n", 3, "agents.timeout must be a finite number"),
        ("[agents]\ntimeout = inf\n", 2, "agents.timeout must be a finite number"),
        ("[sla]\njitter = -inf\n", 2, "sla.jitter must be a finite number"),
        ("[llm.prices.m]\ninput = nan\n", 2, "llm.prices.m.input must be a finite number"),
        (
            '[[sla.checks]]\nname = "d"\nkind = "disk"\nmax_pct = nan\n',
            4,
            "sla.checks[0].max_pct must be a finite number",
        ),
        ("[critic]\nconfidence = 2.0\n", 2, "critic.confidence must be between 0 and 1"),
        ("[git]\nmax_file_bytes = 10_000_000_000\n", 2, "must be between 0 and 1e+09"),
        ("[llm]\nmax_retries = 1000\n", 2, "llm.max_retries must be between 0 and 10"),
        ("[budgets]\ndaily_usd = -5.0\n", 2, "budgets.daily_usd must be between 0"),
        ("[llm]\nrouting_target = [70, 25, 500]\n", 2, "llm.routing_target must be between"),
        ("[runtime]\npoll_interval = 1e-9\n", 2, "runtime.poll_interval must be between 0.01"),
    ],
)
def test_numbers_must_be_finite_and_sane(tmp_path, text, line, words):
    path = write(tmp_path / "controlroom.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.message.startswith(f"{path}:{line}: "), caught.value.message
    assert words in caught.value.message


def test_the_user_config_is_validated_like_any_other(tmp_path):
    path = user("[agents]\ntimeout = nan\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.message == f"{path}:2: agents.timeout must be a finite number"


def test_control_characters_in_keys_are_escaped(tmp_path):
    write(tmp_path / "controlroom.toml", '[runtime]\n"a\\nb\\u202e\\u001b" = 1\n')
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.message.endswith("unknown key runtime.a\\nb\\u202e\\x1b")
    assert caught.value.message.isprintable()


def test_ignored_labels_are_escaped(tmp_path):
    write(tmp_path / "controlroom.toml", '[correlator.endpoints]\n"x\\ny" = "http://a.invalid/"\n')
    config = load_config(tmp_path)
    assert config.ignored_untrusted == ["correlator.endpoints.x\\ny"]
    assert config.notice.isprintable()


def test_a_config_linked_out_of_the_repository_is_refused(tmp_path):
    secret = write(tmp_path / "home" / "notes.toml", "[runtime]\npoll_interval = 3.0\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "controlroom.toml").symlink_to(secret)
    with pytest.raises(ConfigError, match="symbolic link out of the repository"):
        load_config(repo)


def test_the_tests_interpreter_is_the_operators_choice(tmp_path):
    """tests.python names a program that runs the repository's code: never from the repository."""
    write(tmp_path / "controlroom.toml", '[tests]\npython = "/tmp/theirs/bin/python"\n')
    config = load_config(tmp_path)
    assert config.get("tests.python") == ""
    assert config.ignored_untrusted == ["tests.python"]
    user('[tests]\npython = "/opt/mine/bin/python"\n')
    assert load_config(tmp_path).get("tests.python") == "/opt/mine/bin/python"
