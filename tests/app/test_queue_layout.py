"""The Queue pane's columns at 80x24 and 160x40, and severity without colour (NO_COLOR)."""

from __future__ import annotations

from rich.segment import Segment

from controlroom.core.store import Store
from controlroom.tui.panes.queue import QueuePane
from tests.app.seed import insert_tasks


async def seed_paths(workspace) -> None:
    store = await Store.open(workspace.db_path)
    try:
        await insert_tasks(store, 5, path_prefix="src/pkg/deep/mod")
        await insert_tasks(store, 5, start=5, path_prefix="tests/unit/deep/t")
    finally:
        await store.close()


def column_texts(pane: QueuePane, key: str) -> list[str]:
    return [str(pane.table.get_cell(str(t.id), key)) for t in pane.tasks]


async def test_paths_keep_the_first_directory_and_file_name_at_80_and_160(workspace, make_app):
    await seed_paths(workspace)
    widths = {}
    for size in ((80, 24), (160, 40)):
        app = make_app(workspace)
        async with app.run_test(size=size):
            pane = app.query_one(QueuePane)
            columns = {c.key.value: c.width for c in pane.table.columns.values()}
            widths[size] = columns
            assert sum(columns.values()) <= pane.table.scrollable_content_region.width
            for task, shown in zip(pane.tasks, column_texts(pane, "where"), strict=True):
                first = task.path.split("/")[0]
                assert shown.startswith(f"{first}/"), shown  # src/ and tests/ tell apart
                assert shown.endswith(f"{task.path.rsplit('/', 1)[1]}:{task.line}"), shown
                if size == (160, 40):
                    assert shown == f"{task.path}:{task.line}"  # room for all of it
                else:
                    assert "\u2026" in shown and len(shown) < columns["where"]
            agents = column_texts(pane, "agents")
            if size == (80, 24):
                assert "critic+1" in agents and "critic,tests" not in agents
            else:
                assert "critic,tests" in agents and "critic+1" not in agents
    assert widths[(160, 40)]["message"] > widths[(80, 24)]["message"] + 40


async def test_the_columns_follow_a_resize(workspace, make_app):
    await seed_paths(workspace)
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(QueuePane)
        await pilot.press("j", "j")
        narrow = pane.table.columns["message"].width
        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        wide = pane.table.columns["message"].width
        assert wide > narrow + 40
        assert pane.table.cursor_row == 2  # the cursor stays where it was
        assert "/deep/" in column_texts(pane, "where")[0]


async def test_severity_reads_without_colour(workspace, make_app, monkeypatch):
    """Under NO_COLOR=1 the rendered cells of CRIT, HIGH, MED and LOW differ by weight or
    reverse video, not by a shade of grey."""
    store = await Store.open(workspace.db_path)
    try:
        await insert_tasks(store, 10)
    finally:
        await store.close()
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.no_color
        pane = app.query_one(QueuePane)
        await pilot.press("G")  # the cursor's own style away from the rows read below
        attributes: dict[str, set[tuple]] = {}
        for y in range(1, pane.table.row_count):  # line 0 is the header
            segments: list[Segment] = list(pane.table.render_line(y))
            for line_filter in app._filters:
                segments = line_filter.apply(segments, app.styles.background)
            for segment in segments:
                label = segment.text.strip()
                if label in ("CRIT", "HIGH", "MED", "LOW") and segment.style is not None:
                    style = segment.style  # Monochrome leaves shades of grey: set them aside
                    key = (bool(style.bold), bool(style.italic), bool(style.reverse))
                    attributes.setdefault(label, set()).add(key)
        assert set(attributes) == {"CRIT", "HIGH", "MED", "LOW"}
        assert all(len(keys) == 1 for keys in attributes.values()), attributes
        looks = [next(iter(attributes[label])) for label in ("CRIT", "HIGH", "MED", "LOW")]
        assert len(set(looks)) == 4, attributes
