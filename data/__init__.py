"""Packaged defaults: defaults.toml, pricing.toml, prompts, the example SLA file."""

from importlib import resources
from importlib.abc import Traversable


def data_file(name: str) -> Traversable:
    """A file shipped in this package, found the same way in editable and plain installs."""
    return resources.files(__name__).joinpath(name)
