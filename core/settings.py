"""The packaged defaults (``data/defaults.toml``): the one place a setting's default is written.

Code never repeats a default. :meth:`Config.get` falls back to :func:`default_of`; an agent reads its
table through :func:`table` (its given table over the packaged one) or :func:`typed` (the same, into
a dataclass whose fields have no defaults of their own, checked against the defaults' types).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import tomllib
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from controlroom.core.errors import ConfigError
from controlroom.data import data_file

T = TypeVar("T")
MISSING: Any = object()


@functools.cache
def _parsed() -> Mapping[str, Any]:
    """The parsed defaults, read once per process (packaged data: never changes while it runs)."""
    return types.MappingProxyType(
        tomllib.loads(data_file("defaults.toml").read_text(encoding="utf-8"))
    )


def load_defaults() -> dict[str, Any]:
    """A fresh, mutable copy of the packaged defaults."""
    return copy.deepcopy(dict(_parsed()))


def default_of(dotted: str, missing: Any = None) -> Any:
    """The packaged default of ``dotted`` (a copy), or ``missing`` when the schema has no such key."""
    node: Any = _parsed()
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return missing
        node = node[part]
    return copy.deepcopy(node)


def table(dotted: str, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The table ``dotted``: the packaged one with ``given`` merged over it (nested tables too)."""
    base = default_of(dotted, {})
    if not isinstance(base, dict):
        raise ConfigError(f"{dotted} is not a table of the packaged defaults")
    return _merged(base, dict(given or {}))


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def typed(cls: type[T], dotted: str, given: Mapping[str, Any] | None = None, **extra: Any) -> T:
    """``cls`` (a dataclass) filled from :func:`table` ``(dotted, given)``.

    Every field must be a key of the packaged table (the test suite checks each settings class);
    numbers are converted (an int where a float is declared); a value of another type is a
    ConfigError naming the key. ``extra`` gives fields that are not keys of the table.
    """
    values = table(dotted, given)
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init:
            continue
        if f.name in extra:
            kwargs[f.name] = extra[f.name]
            continue
        if f.name not in values:
            raise ConfigError(f"{dotted}.{f.name}: not in the packaged defaults")
        kwargs[f.name] = _coerce(values[f.name], hints[f.name], f"{dotted}.{f.name}")
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint) or hint
    if origin is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    if origin in (int, str, bool, list, dict) and not isinstance(value, origin):
        raise ConfigError(f"{where}: expected {origin.__name__}, got {type(value).__name__}")
    if origin is int and isinstance(value, bool):
        raise ConfigError(f"{where}: expected int, got bool")
    return value


def packaged(dotted: str, convert: Any = None) -> Any:
    """A dataclass field whose default is the packaged default of ``dotted`` (``convert`` applied,
    e.g. ``tuple`` for an array), so a settings class can be built with only some values given."""
    if default_of(dotted, MISSING) is MISSING:
        raise ConfigError(f"{dotted}: not in the packaged defaults")

    def factory() -> Any:
        value = default_of(dotted)
        return convert(value) if convert is not None else value

    return dataclasses.field(default_factory=factory)
