"""The Convergence header strip stays on one line at any width (it wrapped at 80 columns)."""

from controlroom.tui.widgets.sparkline import strip_text

DATA = {
    "velocity": {"per_day": 12.34},
    "window_days": 30,
    "conventional_percent": 75,
    "cpu": [10, 50, 90] * 5,
    "memory": [40, 45, 50] * 5,
}


def test_the_strip_fits_the_width_it_is_given():
    wide = strip_text(DATA)
    assert "conventional 75%" in wide and len(wide) > 78
    for width in (78, 60, 40, 10):
        line = strip_text(DATA, width)
        assert len(line) <= width and "\n" not in line
    assert "cpu" in strip_text(DATA, 78) and "memory" in strip_text(DATA, 78)
