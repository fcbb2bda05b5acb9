"""The history search screen (``H``): words typed, enter, ranked results from the analyzed history."""

from __future__ import annotations

from textual.widgets import Static

from controlroom.tui.screens.history_search import HistorySearchScreen
from controlroom.tui.widgets.key_table import KeyTable

SIZE = (80, 24)


async def search_for(app, pilot, words: str) -> HistorySearchScreen:
    """``H``, the words typed, enter: the screen with its results."""
    await pilot.press("H")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, HistorySearchScreen)
    await pilot.press(*words, "enter")  # q, H, L typed are text, not keys
    assert app.is_running
    await pilot.pause()
    return screen


async def test_h_searches_the_analyzed_history(seeded, make_app) -> None:
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        screen = await search_for(app, pilot, "sql query shell")
        table = screen.query_one(KeyTable)
        kinds = [str(table.get_row_at(n)[0]) for n in range(table.row_count)]
        assert "finding" in kinds and "hunk" in kinds
        assert app.focused is table
        snippet = str(screen.query_one("#history-snippet", Static).render())
        assert "[shell]" in snippet
        await pilot.press("slash", *"nothing-like-it", "enter")
        await pilot.pause()
        assert table.row_count == 0
        assert str(screen.query_one("#history-snippet", Static).render()) == "no match"
        await pilot.press("escape")
        assert not isinstance(app.screen, HistorySearchScreen)


async def test_m_ranks_the_same_query_by_meaning(seeded, make_app) -> None:
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        screen = await search_for(app, pilot, "shell")
        table = screen.query_one(KeyTable)
        by_words = table.row_count
        assert app.focused is table and not screen.semantic

        await pilot.press("m")  # the same query again, ranked by meaning
        await pilot.pause()

        assert screen.semantic and "by meaning" in screen.query_one("#history-input").placeholder
        assert table.row_count > by_words
        assert [h.score for h in screen.hits] == sorted(
            (h.score for h in screen.hits), reverse=True
        )
