"""Sub-agents: worker processes that take units of work routed through the store, and hobbies.

The executor boundary is :class:`core.subagents.executor.Executor`; see docs/subagents.md.
The names below load on first use, so a module of this package (``celery_settings``, read on
every headless run) does not bring in the executor.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from controlroom.core.subagents.executor import Executor, StoreExecutor, agent_runner
    from controlroom.core.subagents.units import Assignment, AssignmentState, UnitResult, WorkUnit

_HOMES = {
    "Executor": "executor",
    "StoreExecutor": "executor",
    "agent_runner": "executor",
    "Assignment": "units",
    "AssignmentState": "units",
    "UnitResult": "units",
    "WorkUnit": "units",
}

__all__ = [
    "Assignment",
    "AssignmentState",
    "Executor",
    "StoreExecutor",
    "UnitResult",
    "WorkUnit",
    "agent_runner",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
