"""[llm.purposes] and [llm.models]: validated, and turned into the request the API accepts."""

from __future__ import annotations

import pytest

from controlroom.core.config import load_config
from controlroom.core.errors import ConfigError
from controlroom.core.llm.shaping import Shaper

SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string", "minLength": 3, "maxLength": 120}},
    "required": ["summary"],
}


def params(shaper: Shaper, model: str, purpose: str = "docs") -> dict:
    return shaper.params(
        model=model, purpose=purpose, max_tokens=4000, system="s", user="u",
        tool_name="submit_x", tool_description="d", schema=SCHEMA,
    )  # fmt: skip


def test_each_default_model_gets_what_it_accepts() -> None:
    shaper = Shaper(load_config(None))
    haiku = params(shaper, "claude-haiku-5-5")
    assert haiku["thinking"] == {"type": "disabled"}
    assert haiku["tool_choice"] == {
        "type": "tool", "name": "submit_x", "disable_parallel_tool_use": True,
    }  # fmt: skip
    sonnet = params(shaper, "claude-sonnet-5-5", "review")
    assert sonnet["thinking"] == {"type": "between_tools"}
    assert sonnet["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert sonnet["output_config"] == {"effort": "medium"}
    opus = params(shaper, "claude-opus-5-5")
    assert opus["thinking"] == {"type": "adaptive"} and opus["tool_choice"]["type"] == "auto"
    other = params(shaper, "claude-someday-9")
    assert "thinking" not in other and other["tool_choice"]["type"] == "auto"


def test_the_tool_is_strict_and_its_schema_closed() -> None:
    [tool] = params(Shaper(load_config(None)), "claude-haiku-5-5")["tools"]
    assert tool["strict"] is True
    schema = tool["input_schema"]
    assert schema["additionalProperties"] is False
    assert "maxLength" not in schema["properties"]["summary"]  # moved into the description
    assert SCHEMA["properties"]["summary"]["maxLength"] == 120  # the local copy is untouched


def test_purpose_caps_leave_room_for_thinking() -> None:
    shaper = Shaper(load_config(None))
    for purpose in ("review", "tests", "docs", "impact"):
        settings = shaper.purpose(purpose)
        assert settings.max_tokens >= 4000 and settings.retry_max_tokens > settings.max_tokens


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"llm.purposes.docs": {"effort": "huge"}}, r"llm\.purposes\.docs\.effort"),
        ({"llm.purposes.docs": {"max_tokens": 100, "retry_max_tokens": 50}}, "larger than"),
        ({"llm.purposes.docs": {"colour": "red"}}, r"unknown key llm\.purposes\.docs\.colour"),
        ({"llm.models.claude-x": {"thinking": "enabled"}}, r"thinking must be one of"),
        ({"llm.models.claude-x": {"forced_tool": "yes"}}, r"forced_tool must be true or false"),
    ],
)
def test_bad_settings_are_config_errors(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Shaper(load_config(None).with_overrides(overrides))
