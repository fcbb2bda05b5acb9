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
    ("task", "agent", "tier", "rule"),
    [
        ("list the files", "critic", "haiku", "keyword:haiku:list"),
        ("check status", "", "haiku", "keyword:haiku:check"),
        (
            "generate pytest tests for parse_header with edge cases",
            "tests",
            "sonnet",
            "keyword:sonnet:generate",
        ),
        (
            "review the changed hunks of commit abc for bugs",
            "critic",
            "sonnet",
            "keyword:sonnet:review",
        ),
        ("writing a summary", "docs", "sonnet", "keyword:sonnet:write"),
        (
            "security review of the authentication changes",
            "critic",
            "opus",
            "keyword:opus:security",
        ),
        ("check the architecture", "impact", "opus", "keyword:opus:architecture"),
        ("Critical: explain what breaks", "impact", "opus", "keyword:opus:critical"),
        ("explain", "critic", "haiku", "short<50"),
        (
            "explain the consequences of this commit for every caller in the code base",
            "impact",
            "haiku",
            "agent-default:impact",
        ),
        (
            "explain the consequences of this commit for every caller in the code base",
            "critic",
            "sonnet",
            "agent-default:critic",
        ),
        (
            "explain the consequences of this commit for every caller in the code base",
            "nobody",
            "sonnet",
            "default",
        ),
        ("a readme", "", "haiku", "short<50"),  # "readme" is not the word "read"
    ],
)
def test_router_table(router: Router, task: str, agent: str, tier: str, rule: str) -> None:
    route = router.route(task, agent)
    assert (route.tier, route.rule) == (tier, rule)
    assert (
        route.model
        == {"haiku": "claude-haiku-5-5", "sonnet": "claude-sonnet-5-5", "opus": "claude-opus-5-5"}[
            tier
        ]
    )


def test_explicit_model_overrides_everything() -> None:
    router = Router(load_config(None).with_overrides({"llm.model": "claude-opus-4-8"}))
    route = router.route("security review", "critic")
    assert route == Route("", "claude-opus-4-8", "override:llm.model")
    assert router.escalate(route) is None


def test_per_agent_model_and_tier() -> None:
    config = load_config(None).with_overrides(
        {"llm.agents.docs": {"model": "claude-sonnet-5"}, "llm.agents.critic": {"tier": "opus"}}
    )
    router = Router(config)
    assert router.route("list things", "docs") == Route("", "claude-sonnet-5", "agent-model:docs")
    long_task = "look over the consequences of the commit for all callers, please"
    assert router.route(long_task, "critic").rule == "agent-default:critic"
    assert router.route(long_task, "critic").tier == "opus"


def test_tier_model_mapping_from_config() -> None:
    router = Router(load_config(None).with_overrides({"llm.tiers.haiku": "claude-haiku-4-5"}))
    route = router.route("list", "x")
    assert route.model == "claude-haiku-4-5"
    assert router.tier_of("claude-haiku-4-5") == "haiku"


def test_escalation_goes_one_tier_up(router: Router) -> None:
    haiku = router.route("list", "")
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
