"""``[subagents] backend``: which executor carries out units (docs/distributed.md).

- ``local``: every unit runs in this process (recorded as "local");
- ``store``: worker processes on this machine take units through the SQLite store;
- ``celery``: Celery workers anywhere take them through a broker (Redis), one queue per capability.
"""

from __future__ import annotations

from typing import Any

from controlroom.core.store import Store
from controlroom.core.subagents.celery_settings import CelerySettings, backend_of
from controlroom.core.subagents.executor import StoreExecutor
from controlroom.core.subagents.settings import SubagentSettings
from controlroom.core.workspace import Workspace


def build_executor(store: Store, workspace: Workspace, **kwargs: Any) -> StoreExecutor:
    """The executor ``[subagents] backend`` names, for this store and workspace."""
    config = workspace.config
    backend = backend_of(config)
    settings = kwargs.pop("settings", None) or SubagentSettings.from_config(config)
    if backend == "celery":
        from controlroom.core.subagents.celery_executor import CeleryExecutor

        celery = kwargs.pop("celery", None) or CelerySettings.from_config(config)
        return CeleryExecutor(
            store, celery=celery, workspace=workspace, settings=settings, **kwargs
        )
    return StoreExecutor(
        store, workspace=workspace, settings=settings, route=backend == "store", **kwargs
    )
