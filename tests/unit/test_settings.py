"""data/defaults.toml is the one place a default is written: code reads it, never repeats it."""

import ast
from pathlib import Path

import pytest

import controlroom.agents
import controlroom.core
import controlroom.tui
from controlroom.agents.critic.agent import CriticSettings
from controlroom.core.config import Config
from controlroom.core.errors import ConfigError
from controlroom.core.settings import default_of, load_defaults, packaged, table, typed
from controlroom.core.subagents.settings import HobbySettings, SubagentSettings

ROOTS = [Path(p.__path__[0]) for p in (controlroom.core, controlroom.agents, controlroom.tui)]
CONFIG_NAMES = {"config", "settings", "section", "values"}


def _calls_with_default(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            continue
        receiver = node.func.value
        name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
        if name in CONFIG_NAMES:
            yield node.lineno, node.args[0].value


def test_no_packaged_default_is_repeated_in_code():
    repeated = []
    for root in ROOTS:
        for path in root.rglob("*.py"):
            for line, key in _calls_with_default(path):
                if "." in key and default_of(key) is not None:
                    repeated.append(f"{path.name}:{line} {key}")
    assert repeated == []


def test_config_get_falls_back_to_the_packaged_default_and_an_explicit_one():
    empty = Config({})
    assert empty.get("queue.snooze_hours") == load_defaults()["queue"]["snooze_hours"]
    assert empty.get("no.such.key") is None
    assert empty.get("no.such.key", 7) == 7
    assert Config({"queue": {"snooze_hours": 2.0}}).get("queue.snooze_hours") == 2.0


def test_settings_classes_take_every_default_from_the_packaged_table():
    defaults = load_defaults()
    critic = CriticSettings.from_config({})
    assert critic.select == defaults["critic"]["select"]
    assert critic.severity == defaults["critic"]["severity"]
    assert critic.test_code.drop == tuple(defaults["critic"]["test_code"]["drop"])
    assert CriticSettings.from_config({"confidence": 1}).confidence == 1.0
    subagents = SubagentSettings()
    assert subagents == SubagentSettings.from_config(None)
    assert subagents.capabilities == tuple(defaults["subagents"]["capabilities"])
    assert HobbySettings().min_gap == defaults["hobbies"]["min_gap"]
    assert table("critic.test_code", {"levels_down": 2})["levels_down"] == 2


def test_a_value_of_the_wrong_type_or_an_unknown_key_is_named():
    with pytest.raises(ConfigError, match=r"subagents\.max_concurrent: expected int, got str"):
        typed(SubagentSettings, "subagents", {"max_concurrent": "five"})
    with pytest.raises(ConfigError, match=r"nope\.nothing: not in the packaged defaults"):
        packaged("nope.nothing")
