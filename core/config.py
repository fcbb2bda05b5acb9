"""Configuration: packaged defaults, the operator's own config, the repository's, then CLI flags.

Layers, later ones win: ``data/defaults.toml``; the user config
(:func:`controlroom.core.locations.user_config_file`, trusted); the repository's config (the search,
as ruff does it: ``controlroom.toml`` at the repository root, else ``[tool.controlroom]`` in its
``pyproject.toml``), or ``--config FILE`` instead of it (trusted: the operator typed it); CLI flags.
The repository's config is untrusted: its privileged settings (:mod:`controlroom.core.privileged`)
are dropped and listed in :attr:`Config.ignored_untrusted` until the operator trusts that exact
content (:mod:`controlroom.core.trust`). ``data/defaults.toml`` doubles as the schema:
a key it does not have is unknown and a value must have the default's type. Tables listed in
:data:`FREE_TABLES` take any key; arrays of tables listed in :data:`TABLE_ARRAYS` are checked by
their own validator. Every error names the file, the line and the key.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import shlex
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controlroom.core import privileged, trust
from controlroom.core.config_schema import MERGE_BY_NAME, Locator, validate
from controlroom.core.errors import ConfigError
from controlroom.core.locations import user_config_file
from controlroom.core.oneline import one_line
from controlroom.core.settings import MISSING, default_of, load_defaults


@dataclass
class Config:
    """The merged configuration. ``get("critic.select")`` reads a dotted key."""

    data: dict[str, Any]
    source: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    sources: list[Path] = field(default_factory=list)  # every file read, in merge order
    # Privileged settings of an untrusted repository config that were dropped (labels, escaped).
    ignored_untrusted: list[str] = field(default_factory=list)
    notice: str = ""  # the one-line warning about them ("" when nothing was ignored)

    def get(self, dotted: str, default: Any = MISSING) -> Any:
        """The value of ``dotted``; when this config lacks it, ``default`` if given, else the
        packaged default (the one place defaults are written), else None."""
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default_of(dotted) if default is MISSING else default
            node = node[part]
        return node

    def section(self, name: str) -> dict[str, Any]:
        value = self.get(name)
        return value if isinstance(value, dict) else {}

    def with_overrides(self, overrides: dict[str, Any]) -> Config:
        """CLI flags win: a copy with dotted keys set."""
        data = copy.deepcopy(self.data)
        for dotted, value in overrides.items():
            *parents, leaf = dotted.split(".")
            node = data
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return dataclasses.replace(self, data=data, overrides={**self.overrides, **overrides})


def find_config(repo: Path) -> tuple[Path, str] | None:
    """The config file for ``repo`` and the table prefix inside it ("" or "tool.controlroom")."""
    own = repo / "controlroom.toml"
    if own.is_file():
        return _within(own, repo), ""
    pyproject = repo / "pyproject.toml"
    if pyproject.is_file():
        _within(pyproject, repo)
        try:
            text = pyproject.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        if re.search(r"^\s*\[\s*tool\s*\.\s*controlroom\b", text, re.MULTILINE):
            return pyproject, "tool.controlroom"
    return None


def _within(path: Path, repo: Path) -> Path:
    """``path`` itself, unless it is a symbolic link leading out of the repository (refused)."""
    if not path.resolve().is_relative_to(repo.resolve()):
        raise ConfigError("a symbolic link out of the repository: not read", path=str(path))
    return path


@dataclass(frozen=True)
class Layer:
    """One config file as read: its bytes, the table controlroom reads from it (validated)."""

    path: Path
    prefix: str
    raw: bytes
    table: dict[str, Any]

    @property
    def digest(self) -> str:
        return trust.config_digest(self.prefix, self.raw, self.table)


def read_layer(path: Path, prefix: str, schema: dict[str, Any]) -> Layer:
    """Read, parse and validate one config file (``prefix``: its table, "" or "tool.controlroom")."""
    raw = _read(path)
    text = raw.decode("utf-8")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _toml_error_line(exc)
        raise ConfigError(
            f"not valid TOML: {_strip_position(exc)}", path=str(path), line=line
        ) from exc
    table = document
    for part in prefix.split(".") if prefix else []:
        table = table.get(part, {}) if isinstance(table, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(f"{prefix} must be a table", path=str(path))
    validate(table, schema, "", path, Locator(text, prefix))
    return Layer(path, prefix, raw, table)


def load_config(repo: Path | None, config_file: Path | None = None) -> Config:
    """Defaults, the user config, then the repository's config (or ``config_file``), validated."""
    defaults = load_defaults()
    data, sources = _operator_layers(defaults)
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError("config file not found", path=str(config_file))
        layer = read_layer(config_file, _prefix_for(config_file), defaults)
        return Config(
            _merge(data, layer.table), source=config_file, sources=[*sources, config_file]
        )
    found = find_config(repo) if repo is not None else None
    if found is None or repo is None:
        return Config(data, source=sources[-1] if sources else None, sources=sources)
    layer = read_layer(found[0], found[1], defaults)
    table, ignored = privileged.split(layer.table, data, repo)
    state = trust.TrustStatus.UNTRUSTED
    if ignored:  # only then do the trust records matter
        state, _ = trust.status(repo, layer.path.name, layer.digest)
        if state is trust.TrustStatus.TRUSTED:
            table, ignored = layer.table, []
    notice = ignored_notice(layer.path, ignored, state, repo) if ignored else ""
    if notice:
        _report_once((str(layer.path), layer.digest), notice)
    return Config(
        _merge(data, table),
        source=layer.path,
        sources=[*sources, layer.path],
        ignored_untrusted=ignored,
        notice=notice,
    )


def repo_layer(repo: Path) -> Layer | None:
    """The repository's own config, read and validated (None when it has none)."""
    found = find_config(repo)
    return read_layer(found[0], found[1], load_defaults()) if found else None


def operator_base() -> dict[str, Any]:
    """What the operator's layers give: the defaults merged with the user config."""
    return _operator_layers(load_defaults())[0]


def _operator_layers(defaults: dict[str, Any]) -> tuple[dict[str, Any], list[Path]]:
    user_file = user_config_file()
    if not user_file.is_file():
        return defaults, []
    return _merge(defaults, read_layer(user_file, "", defaults).table), [user_file]


def ignored_notice(path: Path, ignored: list[str], state: trust.TrustStatus, repo: Path) -> str:
    """One line: which privileged settings were ignored and the command that trusts them."""
    shown = ignored[:6]
    listing = ", ".join(shown) + (f", and {len(ignored) - len(shown)} more" if ignored[6:] else "")
    noun = "setting" if len(ignored) == 1 else "settings"
    command = "controlroom trust"
    try:
        elsewhere = repo.resolve() != Path.cwd().resolve()
    except OSError:
        elsewhere = True
    if elsewhere:
        command += f" --repo {shlex.quote(str(repo))}"
    why = "changed since you trusted it; " if state is trust.TrustStatus.CHANGED else ""
    return one_line(
        f"{path}: {why}ignoring {len(ignored)} privileged {noun} ({listing}) "
        f"until you run '{command}'"
    )


# Who hears about ignored settings (the CLI registers its stderr warning); each config once.
_reporter: Callable[[str], None] | None = None
_reported: set[tuple[str, str]] = set()


def set_notice_reporter(reporter: Callable[[str], None] | None) -> None:
    """Print ignored-settings notices with ``reporter``, once per config content per process."""
    global _reporter
    _reporter = reporter


def _report_once(key: tuple[str, str], notice: str) -> None:
    if _reporter is not None and key not in _reported:
        _reported.add(key)
        _reporter(notice)


def _prefix_for(path: Path) -> str:
    return "tool.controlroom" if path.name == "pyproject.toml" else ""


def _read(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("not UTF-8 text", path=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    return raw


def _toml_error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if lineno:
        return int(lineno)
    match = re.search(r"line (\d+)", str(exc))
    return int(match[1]) if match else None


def _strip_position(exc: Exception) -> str:
    return re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))


def _merge(base: dict[str, Any], user: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in user.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value, f"{dotted}.")
        elif dotted in MERGE_BY_NAME and isinstance(merged.get(key), list):
            names = {item.get("name") for item in value}
            kept = [item for item in merged[key] if item.get("name") not in names]
            merged[key] = kept + copy.deepcopy(value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
