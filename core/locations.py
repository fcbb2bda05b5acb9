"""Where the operator's own files live (XDG base directories), in one place.

Nothing here is inside a repository: these files belong to the user running controlroom, and a
repository under analysis can neither provide nor change them.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "controlroom"


def _xdg(variable: str, fallback: str) -> Path:
    """``$variable`` when it is an absolute path (the XDG rule), else ``~/<fallback>``."""
    value = os.environ.get(variable, "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / fallback


def config_home() -> Path:
    """``$XDG_CONFIG_HOME/controlroom`` (default ``~/.config/controlroom``)."""
    return _xdg("XDG_CONFIG_HOME", ".config") / APP


def data_home() -> Path:
    """``$XDG_DATA_HOME/controlroom`` (default ``~/.local/share/controlroom``)."""
    return _xdg("XDG_DATA_HOME", ".local/share") / APP


def user_config_file() -> Path:
    """The operator's own config, fully trusted: ``config_home()/config.toml``."""
    return config_home() / "config.toml"


def trust_file() -> Path:
    """The record of repository configs the operator trusted (``controlroom trust``)."""
    return data_home() / "trusted.toml"
