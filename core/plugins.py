"""Discovery of agents (and other plug-ins) through entry points, so a user's package can add one."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from controlroom.core.errors import ConfigError
from controlroom.core.model import Agent

AGENT_GROUP = "controlroom.agents"


def _entry_points(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def available_agents() -> list[str]:
    return sorted(_entry_points(AGENT_GROUP))


def load_plugin(group: str, name: str) -> Any:
    """The object an entry point names; ConfigError when nothing of that name is installed."""
    found = _entry_points(group)
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise ConfigError(f"no {group} plug-in named {name!r} is installed (installed: {known})")
    return found[name].load()


class BrokenAgent:
    """Stands in for an installed agent whose module fails to load: every run fails, saying why."""

    def __init__(self, name: str, error: str) -> None:
        self.name = name
        self.error = error

    async def analyze(self, change: Any, ctx: Any) -> Any:
        raise RuntimeError(f"agent {self.name!r} could not be loaded: {self.error}")


class LazyAgent:
    """An installed agent whose module is imported on first use (anything but its ``name``): a
    run whose agents all analyzed the commit already (claimed and done) imports none of them."""

    def __init__(self, name: str, entry_point: EntryPoint) -> None:
        self.name = name
        self._entry_point = entry_point
        self._agent: Any = None

    def loaded(self) -> Any:
        """The agent itself (a :class:`BrokenAgent` when its module fails to import)."""
        if self._agent is None:
            try:
                self._agent = self._entry_point.load()()
            except Exception as exc:
                self._agent = BrokenAgent(self.name, f"{type(exc).__name__}: {exc}")
        return self._agent

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") or attribute in ("_agent", "_entry_point"):
            raise AttributeError(attribute)
        return getattr(self.loaded(), attribute)

    def __repr__(self) -> str:
        return f"LazyAgent({self.name!r})"


def load_named_agents(names: list[str]) -> tuple[list[Agent], list[str]]:
    """The named agents that are installed (in the order given, each imported on first use) and
    the names that are not; one scan of the installed packages' entry points."""
    found = _entry_points(AGENT_GROUP)
    agents: list[Any] = [LazyAgent(name, found[name]) for name in names if name in found]
    return agents, [n for n in names if n not in found]


def load_agents(
    names: list[str] | None = None, found: dict[str, EntryPoint] | None = None
) -> list[Agent]:
    """Instances of the named agents (default: all installed), in the order given.

    An agent whose module fails to import is kept as a :class:`BrokenAgent`, so its runs are
    recorded as failed with the reason and the other agents still run.
    """
    found = _entry_points(AGENT_GROUP) if found is None else found
    wanted = names if names is not None else sorted(found)
    agents: list[Agent] = []
    for name in wanted:
        if name not in found:
            continue  # enabled in config but not installed: skipped, reported by the caller
        try:
            agents.append(found[name].load()())
        except Exception as exc:
            agents.append(BrokenAgent(name, f"{type(exc).__name__}: {exc}"))
    return agents


def missing_agents(names: list[str]) -> list[str]:
    found = _entry_points(AGENT_GROUP)
    return [n for n in names if n not in found]
