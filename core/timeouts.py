"""How long one agent may take on one change set: a base for a small change, more for a big one.

``agents.timeout`` is the budget of an everyday commit; every changed Python file adds
``agents.timeout_per_file`` seconds, up to ``agents.timeout_max``. A 524-file release commit thus
gets the time its size needs, while a hung agent on a one-line commit is still cut off early.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from controlroom.core.config import Config
from controlroom.core.model import ChangeSet
from controlroom.core.settings import default_of

# A runner's timeout: fixed seconds, or a function of the change set (``scaled(config)``).
Timeout = float | Callable[[ChangeSet], float]


def agent_timeout(config: Config, change: ChangeSet) -> float:
    """The effective timeout (seconds) of every agent run on ``change``:
    ``timeout + timeout_per_file * changed Python files``, at most ``timeout_max``."""
    base = float(_setting(config, "timeout"))
    per_file = float(_setting(config, "timeout_per_file"))
    ceiling = max(base, float(_setting(config, "timeout_max")))
    return min(ceiling, base + per_file * len(change.python_files()))


def scaled(config: Config) -> Callable[[ChangeSet], float]:
    """A runner's timeout that scales with each change set under ``config``."""
    return lambda change: agent_timeout(config, change)


def timeout_for(timeout: Timeout, change: ChangeSet) -> float:
    return float(timeout(change) if callable(timeout) else timeout)


def _setting(config: Config, key: str) -> Any:
    value = config.get(f"agents.{key}")
    return value if value is not None else default_of(f"agents.{key}")


__all__ = ["Timeout", "agent_timeout", "scaled", "timeout_for"]
