from controlroom.tui.widgets.sparkline import sparkline, strip_text


def test_sparkline_scales_to_blocks_and_keeps_the_newest():
    assert sparkline([0, 50, 100]) == "▁▅█"
    assert len(sparkline(list(range(40)), width=12)) == 12


def test_strip_text_reads_without_colour():
    text = strip_text(
        {
            "window_days": 30,
            "velocity": {"per_day": 2.25, "per_hour": 0.1, "per_week": 15.0, "commits": 60},
            "conventional_percent": 64.0,
            "cpu": [10.0, 20.0, 35.0],
            "memory": [40.0, 41.0, 42.0],
        }
    )
    assert text == "2.2 commits/day (30d) · conventional 64% · cpu ▁▂▃ 35% · memory ▄▄▄ 42%"
    assert strip_text({"window_days": 30, "velocity": None, "conventional_percent": None}).endswith(
        "no metrics sampled yet"
    )
