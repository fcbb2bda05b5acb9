"""Details are for people: no JSON syntax, rounded numbers, nothing said about empty values."""

from controlroom.tui.format import readable


def test_nested_values_read_as_lines_without_json_syntax():
    shown = readable(
        {
            "confidence": 0.16666666666666666,
            "fix": None,
            "coverage": {"pct": 50.0, "mode": "static"},
            "raises": [],
            "offered": True,
            "paths": ["a.py", "b.py"],
        }
    )
    assert (
        shown
        == "confidence: 0.17\ncoverage:\n  pct: 50\n  mode: static\noffered: yes\npaths: a.py, b.py"
    )
    for token in ("{", "}", '"', "null", "None", "0.1666"):
        assert token not in shown


def test_lists_of_tables_are_bulleted():
    assert readable([{"a": 1}, {"a": 2.5}]) == "- a: 1\n- a: 2.5"
