"""Sub-agents: worker processes that take units of work routed through the store, and hobbies.

The executor boundary is :class:`core.subagents.executor.Executor`; see docs/subagents.md.
"""

from controlroom.core.subagents.executor import Executor, StoreExecutor, agent_runner
from controlroom.core.subagents.units import Assignment, AssignmentState, UnitResult, WorkUnit

__all__ = [
    "Assignment",
    "AssignmentState",
    "Executor",
    "StoreExecutor",
    "UnitResult",
    "WorkUnit",
    "agent_runner",
]
