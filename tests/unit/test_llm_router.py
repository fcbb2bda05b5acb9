"""The router's choices on a table of example requests, overrides and escalation."""

from __future__ import annotations

import pytest

from controlroom.core.config import load_config
from controlroom.core.errors import ConfigError
from controlroom.core.llm.router import Route, Router


@pytest.fixture
def router() -> Router:
    return Router(load_config(None))


@pytest.mark.parametrize(
    ("agent", "purpose", "tier", "rule"),
    [
        ("critic", "review", "sonnet", "purpose:review"),
        ("tests", "tests", "sonnet", "purpose:tests"),
        ("docs", "docs", "haiku", "purpose:docs"),
        ("impact", "impact", "haiku", "purpose:impact"),
        ("nobody", "", "sonnet", "default"),
        ("nobody", "unheard-of", "sonnet", "default"),
    ],
)
def test_router_table(router: Router, agent: str, purpose: str, tier: str, rule: str) -> None:
    route = router.route(agent, purpose)
    assert (route.tier, route.rule) == (tier, rule)
    assert (
        route.model
        == {"haiku": "claude-haiku-5-5", "sonnet": "claude-sonnet-5-5", "opus": "claude-opus-5-5"}[
            tier
        ]
    )


def test_words_of_a_task_never_pick_the_model(router: Router) -> None:
    """A function named ``security.check`` or a subject saying "critical" is repository text: it
    must not buy an Opus call (the old router matched words of the task)."""
    assert not hasattr(router, "patterns")
    for purpose in ("docs", "impact"):
        assert router.route(purpose, purpose).tier == "haiku"


def test_explicit_model_overrides_everything() -> None:
    router = Router(load_config(None).with_overrides({"llm.model": "claude-opus-4-8"}))
    route = router.route("critic", "review")
    assert route == Route("", "claude-opus-4-8", "override:llm.model")
    assert router.escalate(route) is None


def test_per_agent_model_and_tier() -> None:
    config = load_config(None).with_overrides(
        {"llm.agents.docs": {"model": "claude-sonnet-5"}, "llm.agents.critic": {"tier": "opus"}}
    )
    router = Router(config)
    assert router.route("docs", "docs") == Route("", "claude-sonnet-5", "agent-model:docs")
    assert router.route("critic", "review").rule == "agent-default:critic"
    assert router.route("critic", "review").tier == "opus"


def test_tier_model_mapping_from_config() -> None:
    router = Router(load_config(None).with_overrides({"llm.tiers.haiku": "claude-haiku-4-5"}))
    route = router.route("docs", "docs")
    assert route.model == "claude-haiku-4-5"
    assert router.tier_of("claude-haiku-4-5") == "haiku"


def test_escalation_goes_one_tier_up(router: Router) -> None:
    haiku = router.route("docs", "docs")
    sonnet = router.escalate(haiku)
    assert sonnet is not None and (sonnet.tier, sonnet.rule) == (
        "sonnet",
        "escalation:haiku->sonnet",
    )
    opus = router.escalate(sonnet)
    assert opus is not None and opus.tier == "opus"
    assert router.escalate(opus) is None


def test_bad_agent_tier_is_a_config_error() -> None:
    config = load_config(None).with_overrides({"llm.agents.docs": {"tier": "giant"}})
    with pytest.raises(ConfigError, match=r"llm\.agents\.docs\.tier"):
        Router(config)


def test_user_config_file_validates_llm_tables(tmp_path) -> None:
    (tmp_path / "controlroom.toml").write_text('[llm]\ndefault_tier = "huge"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"controlroom\.toml:2: llm\.default_tier"):
        load_config(tmp_path)
