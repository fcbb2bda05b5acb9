"""The panes of the control room and the contract every pane follows.

The pane contract
-----------------
A pane is a Textual ``Widget`` subclass living in ``tui/panes/<id>.py`` under a fixed class name
(``QueuePane``, ``ConvergencePane``, ``SlaPane``, ``CostsPane``, ``SubagentsPane``). The app mounts
one instance of it, constructed with no arguments, inside the ``TabPane`` whose id is the pane id.

* Data: a pane reads ``self.app.store`` (an open :class:`core.store.Store`), ``self.app.workspace``
  (:class:`core.workspace.Workspace`: ``repo_path``, ``config``, ``db_path``) and ``self.app.clock``
  (a ``() -> float`` to use instead of ``time.time`` so snapshots are stable). The store is open
  before any pane is mounted, so ``on_mount`` may use it too. ``self.app.runtime`` is the core
  :class:`core.runtime.Runtime` or None (no background work: tests, snapshots, ``--read-only``).
  ``self.app.read_only`` is True under ``--read-only``.
* ``async def refresh_data(self) -> None``: reload from the store and update widgets in place.
  The app calls it when the pane is first shown, when the store changed (another process committed:
  ``Store.data_version`` moved, or the in-process runtime published an event) and the pane is
  visible (a hidden pane is marked stale and refreshed when it is shown again), and on ``ctrl+r``.
  Calls never overlap. It must be quick (page large tables: load ~200 rows at a time) and must not
  raise for an empty store; an exception becomes a visible notice, the app keeps running.
* Keys: a pane never handles keys by hand. It registers its actions in ``tui.actions.ACTIONS`` at
  import time with ``scope="<pane id>"`` (ids like ``"sla.run_now"``; ``mutates=True`` for anything
  that writes to the store, so ``--read-only`` drops it), declares
  ``BINDINGS = ACTIONS.bindings("<pane id>")``, mixes in ``tui.actions.RegistryActions`` with
  ``ACTION_SCOPE = "<pane id>"`` and implements ``action_<name>`` methods. Override
  ``action_state(name)`` to disable what makes no sense now (True / None greyed / False hidden).
  The footer, the ``?`` help screen and the ``ctrl+p`` palette then list those keys by themselves.
  Keys already taken everywhere: ``1``-``5``, ``[``, ``]``, ``?``, ``q``, ``ctrl+p``, ``ctrl+r``,
  and ``j``/``k``/``g``/``G`` on tables (use ``tui.widgets.KeyTable`` for a DataTable with them).
* Background work: a pane that needs its own loop posts messages from a worker
  (``self.run_worker(..., group="<pane id>", exit_on_error=False)``) and never touches widgets from
  it; the app turns a failed worker into a notice. Empty data is shown honestly with
  ``tui.panes.empty.EmptyState`` (say what would fill it), never with made-up rows.
* Timestamps shown to the user come from the store; "age" is computed with ``self.app.clock()``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from textual.widget import Widget


@dataclass(frozen=True, slots=True)
class PaneSpec:
    id: str
    title: str
    key: str
    module: str
    class_name: str
    enabled_by: str  # what makes the pane exist, shown while its module is missing


PANES: tuple[PaneSpec, ...] = (
    PaneSpec("queue", "Queue", "1", "controlroom.tui.panes.queue", "QueuePane", ""),
    PaneSpec(
        "convergence",
        "Convergence",
        "2",
        "controlroom.tui.panes.convergence",
        "ConvergencePane",
        "",
    ),
    PaneSpec(
        "sla",
        "SLA",
        "3",
        "controlroom.tui.panes.sla",
        "SlaPane",
        "Data-freshness SLA checks ([sla] in controlroom.toml) are not part of this build: "
        "the module tui.panes.sla is not installed.",
    ),
    PaneSpec(
        "costs",
        "Costs",
        "4",
        "controlroom.tui.panes.costs",
        "CostsPane",
        "LLM cost tracking (the ledger of every Claude call, budgets and routing) is not part of "
        "this build: the module tui.panes.costs is not installed.",
    ),
    PaneSpec(
        "subagents",
        "Sub-agents",
        "5",
        "controlroom.tui.panes.subagents",
        "SubagentsPane",
        "Sub-agent worker processes and idle-time hobby sweeps are not part of this build: "
        "the module tui.panes.subagents is not installed.",
    ),
)


def pane_spec(pane_id: str) -> PaneSpec:
    return next(p for p in PANES if p.id == pane_id)


def load_pane(spec: PaneSpec) -> Widget:
    """An instance of the pane, or an honest empty state while its module is missing or broken."""
    from controlroom.tui.panes.empty import EmptyState

    try:
        module = importlib.import_module(spec.module)
    except ModuleNotFoundError as exc:
        if exc.name != spec.module:
            return EmptyState(
                f"{spec.title} is unavailable",
                f"{spec.module} needs the missing module {exc.name}: {exc}",
            )
        return EmptyState(f"{spec.title}: not available", spec.enabled_by)
    except ImportError as exc:
        return EmptyState(f"{spec.title} is unavailable", f"{spec.module} failed to import: {exc}")
    pane_class = getattr(module, spec.class_name, None)
    if pane_class is None:
        return EmptyState(
            f"{spec.title} is unavailable", f"{spec.module} has no class {spec.class_name}"
        )
    return pane_class()
