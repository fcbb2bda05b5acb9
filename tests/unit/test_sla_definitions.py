"""[[sla.checks]] and [[sla.maintenance]] parsing: bad definitions name the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlroom.core.config import load_config
from controlroom.core.errors import ConfigError, ExitCode
from controlroom.core.sla import load_checks
from controlroom.core.sla.durations import parse_duration
from controlroom.data import data_file
from tests.unit.sla_support import sla_config

GOOD = """
[sla]
interval = 30

[[sla.checks]]
name = "exports"
kind = "file_age"
path = "out/*.csv"
max_age = "2h"

[[sla.checks]]
name = "api"
kind = "http"
url = "http://127.0.0.1:1/health"
severity = "critical"
target = 99.5
"""


def test_defaults_fill_in_and_durations_parse(tmp_path: Path) -> None:
    checks = load_checks(sla_config(tmp_path, GOOD))
    assert [c.name for c in checks] == ["exports", "api"]
    exports, api = checks
    assert exports.interval == 30 and exports.params["max_age"] == 7200
    assert exports.threshold == 7200 and exports.failure_threshold == 3 and exports.target == 95
    assert api.severity == "critical" and api.target == 99.5 and api.threshold is None
    assert parse_duration("90s") == 90 and parse_duration("5m") == 300 and parse_duration(2) == 2


def test_the_example_file_is_valid_and_has_every_kind() -> None:
    config = load_config(None, Path(str(data_file("sla.example.toml"))))
    kinds = {c.kind for c in load_checks(config)}
    assert kinds == {"file_age", "sql_age", "http", "command", "process", "disk", "heartbeat"}


@pytest.mark.parametrize(
    ("extra", "line", "message"),
    [
        ('max_age = "soon"', 7, "sla.checks[0].max_age must be a duration"),
        ("colour = 3", 8, "sla.checks[0].colour: unknown field for kind file_age"),
        ('severity = "urgent"', 8, "severity must be one of critical"),
        ("failure_threshold = 0", 8, "failure_threshold must be at least 1"),
        ("target = 120", 8, "target must be a percentage"),
    ],
)
def test_bad_field_names_file_line_and_field(
    tmp_path: Path, extra: str, line: int, message: str
) -> None:
    text = '[sla]\n\n[[sla.checks]]\nname = "x"\nkind = "file_age"\npath = "a"\n'
    # line 7: max_age (or the bad max_age), line 8: the extra field
    text += extra + "\n" if extra.startswith("max_age") else "max_age = 5\n" + extra + "\n"
    with pytest.raises(ConfigError) as caught:
        sla_config(tmp_path, text)
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.message.startswith(f"{tmp_path / 'controlroom.toml'}:{line}: ")
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        ('name = "a"\nkind = "telepathy"', "kind must be one of file_age", 5),
        ('name = "a"\nkind = "file_age"\npath = "x"', "kind file_age needs field 'max_age'", 5),
        ('name = "a b"\nkind = "disk"\nmax_pct = 50', "name must be 1-64 letters", 4),
        (
            'name = "a"\nkind = "sql_age"\nquery = "SELECT 1"\nmax_delay = 5',
            "exactly one of database or dsn",
            5,
        ),
        ('name = "a"\nkind = "http"\nurl = "ftp://x"', "url must start with http", 6),
        (
            'name = "a"\nkind = "http"\nurl = "http://x"\njson_field = "s"',
            "json_field needs json_value",
            7,
        ),
        (
            'name = "a"\nkind = "command"\ncommand = []',
            "command must be a string or a non-empty array",
            6,
        ),
        (
            'name = "a"\nkind = "command"\ncommand = "x"\nstdout_match = "("',
            "not a valid regular expression",
            7,
        ),
        ('name = "a"\nkind = "process"', "exactly one of process_name or pidfile", 5),
    ],
)
def test_bad_definitions_are_errors(tmp_path: Path, body: str, message: str, line: int) -> None:
    with pytest.raises(ConfigError, match=f"controlroom.toml:{line}: ") as caught:
        sla_config(tmp_path, f"\n\n[[sla.checks]]\n{body}\n")
    assert message in caught.value.message


def test_duplicate_names_point_at_the_second(tmp_path: Path) -> None:
    text = "[[sla.checks]]\nname = 'a'\nkind = 'disk'\nmax_pct = 50\n\n"
    text += "[[sla.checks]]\nname = 'a'\nkind = 'disk'\nmax_pct = 60\n"
    with pytest.raises(ConfigError, match=r":7: sla.checks\[1\].name 'a' is used twice"):
        sla_config(tmp_path, text)


def test_pyproject_table_is_located_too(tmp_path: Path) -> None:
    text = '[project]\nname = "p"\n\n[[tool.controlroom.sla.checks]]\nname = "a"\nkind = "disk"\nmax_pct = 500\n'
    with pytest.raises(ConfigError, match=r"pyproject.toml:7: .*max_pct must be a percentage"):
        sla_config(tmp_path, text, name="pyproject.toml")


@pytest.mark.parametrize(
    ("body", "field_line", "message"),
    [
        ('at = "25:00"\nduration = "1h"', 4, "at must be a time of day"),
        ('at = "02:00"\nduration = "1h"\ntimezone = "Mars/Olympus"', 6, "unknown IANA time zone"),
        ('at = "02:00"\nduration = "1h"\nweekdays = ["funday"]', 6, "weekdays must be an array"),
        ("start = 2026-01-02T00:00:00Z\nend = 2026-01-01T00:00:00Z", 5, "end must be after start"),
        ('start = "2026-01-01T00:00:00"', 4, "needs both start and end"),
        ('name = "x"', 3, "needs start and end (one-off) or at and duration"),
    ],
)
def test_bad_maintenance_windows(tmp_path: Path, body: str, field_line: int, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        sla_config(tmp_path, f"\n\n[[sla.maintenance]]\n{body}\n")
    assert message in caught.value.message
    assert f"controlroom.toml:{field_line}: " in caught.value.message


def test_sla_table_scalars_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r":2: sla.cooldown must be greater than 0"):
        sla_config(tmp_path, "[sla]\ncooldown = -1\n")
    with pytest.raises(ConfigError, match=r":2: unknown key sla.colour"):
        sla_config(tmp_path, "[sla]\ncolour = 1\n")
