from pathlib import Path

import pytest

from controlroom.core.config import load_config
from controlroom.core.errors import ConfigError, ExitCode
from controlroom.core.locations import user_config_file


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_config_file(tmp_path):
    user_config_file().unlink()  # the suite's own (tests/conftest.py): none at all here
    config = load_config(tmp_path)
    assert config.source is None
    assert config.get("runtime.poll_interval") == 2.0
    assert "critic" in config.get("agents.enabled")


def test_controlroom_toml_overrides_defaults(tmp_path):
    write(tmp_path, "controlroom.toml", "[runtime]\npoll_interval = 5\n[agents]\ntimeout = 12.5\n")
    config = load_config(tmp_path)
    assert config.get("runtime.poll_interval") == 5
    assert config.get("agents.timeout") == 12.5
    assert config.get("runtime.max_commits_per_cycle") == 20  # untouched defaults stay


def test_pyproject_tool_table_is_read_like_ruff(tmp_path):
    write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.controlroom.critic]\nchanged_lines_only = false\n',
    )
    config = load_config(tmp_path)
    assert config.source == tmp_path / "pyproject.toml"
    assert config.get("critic.changed_lines_only") is False


def test_controlroom_toml_wins_over_pyproject(tmp_path):
    write(tmp_path, "pyproject.toml", "[tool.controlroom.runtime]\npoll_interval = 9\n")
    write(tmp_path, "controlroom.toml", "[runtime]\npoll_interval = 3\n")
    assert load_config(tmp_path).get("runtime.poll_interval") == 3


def test_explicit_config_file_overrides_the_search(tmp_path):
    write(tmp_path, "controlroom.toml", "[runtime]\npoll_interval = 3\n")
    other = write(tmp_path, "other.toml", "[runtime]\npoll_interval = 7\n")
    assert load_config(tmp_path, other).get("runtime.poll_interval") == 7


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[runtime]\npoll_interval = 2\nbogus = 1\n", 3, "unknown key runtime.bogus"),
        ("[runtime]\n\npoll_interval = 'fast'\n", 3, "runtime.poll_interval must be a number"),
        ("[agents]\ntimeout = -1\n", 2, "agents.timeout must be greater than 0"),
        ("[critic.severity]\nS = 'urgent'\n", 2, "critic.severity.S must be one of"),
        ("\n[nope]\nx = 1\n", 2, "unknown key nope"),
        ("[runtime]\npoll_interval = \n", 2, "not valid TOML"),
        ("[agents]\nenabled = 'critic'\n", 2, "agents.enabled must be an array"),
    ],
)
def test_bad_config_names_file_line_and_key(tmp_path, text, line, words):
    path = write(tmp_path, "controlroom.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    message = caught.value.message
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message
    assert "\n" not in message
    assert caught.value.exit_code == ExitCode.USAGE


def test_error_line_in_pyproject_counts_from_the_file_top(tmp_path):
    path = write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.controlroom.runtime]\npoll_interval = true\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.message.startswith(f"{path}:5: runtime.poll_interval")


def test_missing_explicit_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path, tmp_path / "missing.toml")


def test_cli_overrides_win(tmp_path):
    write(tmp_path, "controlroom.toml", "[runtime]\npoll_interval = 3\n")
    config = load_config(tmp_path).with_overrides({"runtime.poll_interval": 1.0})
    assert config.get("runtime.poll_interval") == 1.0


def test_a_tool_key_that_is_not_a_table_is_a_config_error(tmp_path):
    # The search sees a [tool.controlroom] line (inside a string); the document's tool is 1.
    write(tmp_path, "pyproject.toml", 'tool = 1\nx = """\n[tool.controlroom]\n"""\n')
    with pytest.raises(ConfigError, match=r"tool\.controlroom must be a table"):
        load_config(tmp_path)
