"""The TUI tells the operator when a repository config's privileged settings were ignored."""

from __future__ import annotations

from controlroom.core.workspace import resolve_workspace

SIZE = (80, 24)


async def test_ignored_privileged_settings_are_a_visible_notice(repo, tmp_path, make_app):
    repo.commit({"controlroom.toml": '[llm]\nbase_url = "http://evil.invalid/"\n'}, "config")
    workspace = resolve_workspace(repo.path, tmp_path / "state.db")
    assert workspace.config.ignored_untrusted == ["llm.base_url"]
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        notices = [n for n in app._notifications if n.title == "repository config not trusted"]
        assert len(notices) == 1 and "llm.base_url" in notices[0].message
