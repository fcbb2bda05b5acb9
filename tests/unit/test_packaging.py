"""A plain ``pip install .`` ships every module and data file the code reads, under ``controlroom``."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL = ("core", "tui", "agents", "data")


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_package_data_covers_every_non_python_file_of_the_packages() -> None:
    globs = _setuptools()["package-data"]
    missing = []
    for package in TOP_LEVEL:
        for path in (ROOT / package).rglob("*"):
            if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            relative = path.relative_to(ROOT / package)
            patterns = globs.get(f"controlroom.{package}", [])
            if not any(relative.match(pattern) for pattern in patterns):
                missing.append(str(path.relative_to(ROOT)))
    assert missing == [], f"not in [tool.setuptools.package-data]: {missing}"


def test_every_package_directory_is_listed_under_controlroom() -> None:
    listed = set(_setuptools()["packages"])
    found = {
        "controlroom." + ".".join(init.parent.relative_to(ROOT).parts)
        for package in TOP_LEVEL
        for init in (ROOT / package).rglob("__init__.py")
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    assert all(name.startswith("controlroom.") for name in listed)
