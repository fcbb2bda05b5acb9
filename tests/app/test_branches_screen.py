"""The Branches screen (``B``): the branch apply made, its diff, a confirmed merge and delete."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from controlroom.tui.screens.branches import BranchDiffScreen, BranchesScreen, ConfirmScreen
from controlroom.tui.widgets.key_table import KeyTable
from tests.unit.test_branches import applied_branch

SIZE = (100, 30)


@pytest.fixture
async def applied(repo, tmp_path):
    workspace, store, doc, branch = await applied_branch(repo, tmp_path)
    await store.close()
    return repo, workspace, doc, branch


async def open_branches(app, pilot) -> BranchesScreen:
    await pilot.press("B")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, BranchesScreen)
    return screen


async def test_b_lists_branches_enter_shows_the_diff_m_merges_after_yes(applied, make_app) -> None:
    repo, workspace, _doc, branch = applied
    head, tip = repo.head(), repo.git("rev-parse", branch)
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_branches(app, pilot)
        row = [str(c) for c in screen.query_one(KeyTable).get_row_at(0)]
        assert row[:4] == [branch, "+1/-0", "open", "DOC100"]
        assert row[4].startswith("calc.py:1 applied: ")

        await pilot.press("enter")
        await pilot.pause()
        diff = app.screen
        assert isinstance(diff, BranchDiffScreen)
        text = str(diff.query_one("#details-text", Static).render())
        assert '+    """Return ``n * 2``.' in text
        assert text.startswith(f"{branch} {tip[:12]}: controlroom: DOC100 in calc.py:1")
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # declined: nothing moves
        await pilot.pause()
        assert repo.head() == head
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert repo.head() == tip
        assert [str(c) for c in screen.query_one(KeyTable).get_row_at(0)][2] == "merged"
        status = str(screen.query_one("#branches-status", Static).render())
        assert f"merged {branch} onto main by fast-forward" in status

        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert repo.git("branch", "--list", branch) == ""
        assert screen.query_one(KeyTable).row_count == 0


async def test_read_only_shows_but_never_merges_or_deletes(applied, make_app) -> None:
    repo, workspace, _doc, branch = applied
    head = repo.head()
    app = make_app(workspace, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_branches(app, pilot)
        assert screen.query_one(KeyTable).row_count == 1
        for key in ("m", "d"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen  # no confirmation was even asked
        assert not screen.check_action("merge", ())
    assert repo.head() == head and repo.git("branch", "--list", branch)
