"""The Textual app: five panes in tabs, the store watcher, the core runtime as a worker.

Build it with :func:`create_app` (the CLI and the tests share it). Workers never touch widgets:
they post messages (``tui.messages``) and the handlers here update the panes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.lazy import Lazy
from textual.widget import Widget
from textual.widgets import Footer, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from controlroom.core.store import Store
from controlroom.core.workspace import Workspace
from controlroom.tui.actions import ACTIONS, RegistryActions
from controlroom.tui.escape import visible
from controlroom.tui.messages import (
    DataRefreshed,
    RuntimeEvent,
    StoreChanged,
    StoreProbed,
    WorkerFailed,
)
from controlroom.tui.palette import RegistryCommands
from controlroom.tui.panes import PANES, load_pane
from controlroom.tui.screens import branches as _branches_screen  # noqa: F401  (its keys)
from controlroom.tui.screens import history_search as _history_screen  # noqa: F401  (its keys)
from controlroom.tui.screens import learning as _learning_screen  # noqa: F401  (its keys)

PANE_IDS = tuple(p.id for p in PANES)
# Actions that act on the main screen's panes: off while a detail screen is on top.
_MAIN_SCREEN_ONLY = {
    "show_pane",
    "cycle_pane",
    "refresh_now",
    "learning",
    "history_search",
    "branches",
}
# Events after which the visible pane reloads (the runtime writes on the app's own connection,
# which Store.data_version does not report).
_DATA_EVENTS = {"commit.analyzed", "tasks.changed", "sla.result", "sla.alert", "correlator.sample"}


class PaneTabs(TabbedContent):
    """TabbedContent that ignores a stale "a widget in this pane got focus" message.

    Focusing a widget posts ``TabPane.Focused``, and TabbedContent switches to that pane when it
    arrives. A key that switches panes in between (``5`` then ``]`` typed fast) would be undone
    by the late message, so it only counts while the focus is still inside that pane.
    """

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        focused = self.screen.focused
        if focused is None or event.tab_pane not in focused.ancestors:
            event.stop()
            event.prevent_default()  # Textual then skips TabbedContent's own handler


class MainView(Widget):
    """The tabs; mounted once the store is open, so panes can read it from their first moment."""

    DEFAULT_CSS = "MainView { height: 1fr; }"

    def compose(self) -> ComposeResult:
        with PaneTabs(initial="queue", id="panes"):
            for index, spec in enumerate(PANES):
                pane = load_pane(spec)
                pane.id = f"{spec.id}-pane"
                with TabPane(f"{spec.key} {spec.title}", id=spec.id):
                    yield pane if index == 0 else Lazy(pane)


class ControlRoomApp(RegistryActions, App[int]):
    """The control room. ``self.store``, ``self.workspace``, ``self.clock`` are what panes read."""

    ACTION_SCOPE = "app"
    CSS_PATH = "app.tcss"
    TITLE = "controlroom"
    BINDINGS = ACTIONS.bindings("app")
    COMMANDS = {RegistryCommands}
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        workspace: Workspace,
        *,
        read_only: bool = False,
        background: bool = True,
        clock: Callable[[], float] = time.time,
        runtime_factory: Callable[[Workspace, Store], Any] | None = None,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.read_only = read_only
        self.background = background
        self.clock = clock
        self.runtime_factory = runtime_factory
        self.store: Store | None = None
        self.new_store = False
        self.runtime: Any = None  # the core Runtime (a factory may return any), or None
        self.refresh_interval = float(workspace.config.get("runtime.ui_refresh_interval"))
        self.refresh_generation = 0
        self._data_version: int | None = None
        self._stale: set[str] = set()
        self._loaded: set[str] = set()
        self._refresh_lock = asyncio.Lock()
        self._refresh_waiters: list[tuple[int, asyncio.Future[int]]] = []
        if read_only:
            self.sub_title = "read-only"

    # -- notifications: plain text ---------------------------------------------------------------
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification here (``widget.notify`` lands here too) is plain text: it carries
        error messages, check names and paths from the repository, so ``markup`` is ignored and
        control characters are escaped."""
        super().notify(
            visible(message),
            title=visible(title, multiline=False),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("Opening the store ...", id="opening")
        yield Footer(show_command_palette=False)  # ^p is listed by ? (80 columns are few)

    async def on_mount(self) -> None:
        self.new_store = (
            not self.workspace.db_path.exists()
        )  # first open: the queue offers a baseline
        self.store = await Store.open(self.workspace.db_path, read_only=self.read_only)
        self._data_version = await self.store.data_version()
        await self.mount(MainView(), before=self.query_one(Footer))
        await self.query_one("#opening").remove()
        await self.refresh_panes(("queue",), source="start")
        self._focus_pane("queue")
        if self.workspace.config.notice:  # privileged settings of an untrusted repository config
            self.notify(
                self.workspace.config.notice,
                title="repository config not trusted",
                severity="warning",
                timeout=30,
                markup=False,
            )
        if self.background:
            self._start_runtime(self.store)
            self._arm_watch()

    async def on_unmount(self) -> None:
        if self.store is not None:
            await self.store.close()

    # -- panes -----------------------------------------------------------------------------------
    @property
    def active_pane_id(self) -> str:
        try:
            return self.query_one("#panes", TabbedContent).active or "queue"
        except Exception:
            return "queue"

    def pane(self, pane_id: str) -> Widget | None:
        """The mounted pane widget of ``pane_id`` (None while a Lazy pane is not mounted yet)."""
        found = self.query(f"#{pane_id}-pane")
        return found.first() if found else None

    def _focus_pane(self, pane_id: str) -> None:
        pane = self.pane(pane_id)
        # After an awaited refresh the operator may have moved on: focusing a widget of a hidden
        # pane would make TabbedContent switch back to it.
        if pane is None or pane_id != self.active_pane_id:
            return
        focusable = [w for w in pane.query("*") if w.focusable and w.display]
        if focusable:
            # Now, not ``Widget.focus()``: that defers to the next loop turn, when a pane key
            # pressed meanwhile would see its switch undone by the late focus.
            focusable[0].screen.set_focus(focusable[0])
        else:
            self.set_focus(None)

    @on(TabbedContent.TabActivated)
    async def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane_id = event.pane.id or ""
        if pane_id not in PANE_IDS:
            return
        if self.pane(pane_id) is None:  # a Lazy pane mounts after the next refresh
            self.call_after_refresh(self._show_lazy, pane_id)
            return
        if pane_id in self._stale or pane_id not in self._loaded:
            await self.refresh_panes((pane_id,), source="tab")
        self._focus_pane(pane_id)
        self.refresh_bindings()

    async def _show_lazy(self, pane_id: str) -> None:
        if self.pane(pane_id) is not None:
            await self.refresh_panes((pane_id,), source="tab")
            self._focus_pane(pane_id)

    async def refresh_panes(self, pane_ids: tuple[str, ...], *, source: str) -> None:
        """Reload panes one after the other; never overlapping. Others are marked stale."""
        async with self._refresh_lock:
            done = []
            for pane_id in pane_ids:
                pane = self.pane(pane_id)
                refresh = getattr(pane, "refresh_data", None)
                if refresh is None:
                    continue
                try:
                    await refresh()
                except Exception as exc:
                    self.notify(
                        f"{pane_id}: refresh failed: {type(exc).__name__}: {exc}",
                        severity="error",
                        timeout=10,
                    )
                self._stale.discard(pane_id)
                self._loaded.add(pane_id)
                done.append(pane_id)
            self.refresh_generation += 1
            self.post_message(DataRefreshed(tuple(done), self.refresh_generation))

    async def refresh_visible(self, source: str) -> None:
        active = self.active_pane_id
        self._stale.update(p for p in PANE_IDS if p != active)
        await self.refresh_panes((active,), source=source)

    # -- actions ---------------------------------------------------------------------------------
    def action_state(self, action: str) -> bool | None:
        return not (action in _MAIN_SCREEN_ONLY and len(self.screen_stack) > 1)

    def action_show_pane(self, pane_id: str) -> None:
        if self.store is None:
            return
        tabs = self.query_one("#panes", TabbedContent)
        if tabs.active != pane_id:
            self.set_focus(None)  # a focus message still queued for the old pane is now stale
            tabs.active = pane_id

    def action_cycle_pane(self, step: int) -> None:
        index = PANE_IDS.index(self.active_pane_id)
        self.action_show_pane(PANE_IDS[(index + step) % len(PANE_IDS)])

    def action_help(self) -> None:
        from controlroom.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_learning(self) -> None:
        from controlroom.tui.screens.learning import LearningScreen

        if self.store is not None and not isinstance(self.screen, LearningScreen):
            self.push_screen(LearningScreen())

    def action_branches(self) -> None:
        from controlroom.core.branches import Branches
        from controlroom.tui.screens.branches import BranchesScreen

        if self.store is not None and not isinstance(self.screen, BranchesScreen):
            prefix = str(self.workspace.config.get("apply.branch_prefix"))
            self.push_screen(BranchesScreen(Branches(self.workspace.repo_path, prefix)))

    def action_history_search(self) -> None:
        from controlroom.tui.screens.history_search import HistorySearchScreen

        if self.store is not None and not isinstance(self.screen, HistorySearchScreen):
            self.push_screen(HistorySearchScreen())

    async def action_refresh_now(self) -> None:
        await self.refresh_visible("operator")

    async def wait_for_refresh(  # type: ignore[override]  # not Textual's (unused by Textual)
        self, after: int, timeout: float = 5.0
    ) -> int:
        """Wait until a refresh newer than generation ``after`` finished (for tests and tools)."""
        if self.refresh_generation > after:
            return self.refresh_generation
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._refresh_waiters.append((after, future))
        return await asyncio.wait_for(future, timeout)

    @on(DataRefreshed)
    def _data_refreshed(self, message: DataRefreshed) -> None:
        waiting = []
        for after, future in self._refresh_waiters:
            if future.done():
                continue
            if self.refresh_generation > after:
                future.set_result(self.refresh_generation)
            else:
                waiting.append((after, future))
        self._refresh_waiters = waiting

    # -- the store watcher -----------------------------------------------------------------------
    def _arm_watch(self) -> None:
        """One shot; re-armed by the handler only after the refresh it caused has finished."""
        self.set_timer(self.refresh_interval, self._probe_store, name="store-watch")

    @work(exclusive=True, group="store-watch", exit_on_error=False)
    async def _probe_store(self) -> None:
        assert self.store is not None
        version = await self.store.data_version()
        self.post_message(StoreProbed(version, version != self._data_version))

    @on(StoreProbed)
    async def _store_probed(self, message: StoreProbed) -> None:
        try:
            if message.changed:
                self._data_version = message.version
                await self.refresh_visible("store")
        finally:
            self._arm_watch()

    @on(StoreChanged)
    async def _store_changed(self, message: StoreChanged) -> None:
        await self.refresh_visible(message.source)

    # -- the core runtime ------------------------------------------------------------------------
    def _start_runtime(self, store: Store) -> None:
        if self.read_only:  # a viewer never analyzes (analysis writes to the store)
            return
        try:
            if self.runtime_factory is not None:
                self.runtime = self.runtime_factory(self.workspace, store)
            else:
                from controlroom.core.services import create_runtime

                self.runtime = create_runtime(self.workspace, store, clock=self.clock)
        except Exception as exc:
            self.post_message(WorkerFailed("runtime", f"{type(exc).__name__}: {exc}"))
            return
        if self.runtime is None:  # a factory may decline: the store watcher still runs
            return
        self._forward_events()
        self._run_runtime()

    @work(exclusive=True, group="runtime", exit_on_error=False, name="runtime")
    async def _run_runtime(self) -> None:
        await self.runtime.run()

    @work(exclusive=True, group="runtime-events", exit_on_error=False, name="runtime events")
    async def _forward_events(self) -> None:
        async for event in self.runtime.events.subscribe():
            self.post_message(RuntimeEvent(event.kind, dict(event.payload)))

    @on(RuntimeEvent)
    def _runtime_event(self, message: RuntimeEvent) -> None:
        if message.kind in _DATA_EVENTS:
            self.post_message(StoreChanged("runtime"))
        elif message.kind == "commit.started":
            self.sub_title = f"analyzing {str(message.payload.get('sha', ''))[:10]}"
        elif message.kind == "runtime.error":
            self.notify(str(message.payload.get("error")), title="runtime", severity="warning")
        elif message.kind == "runtime.burst_capped":
            skipped = message.payload.get("skipped")
            self.notify(f"{skipped} older commits skipped (max_commits_per_cycle)", title="runtime")
        if message.kind == "sla.alert":
            critical = message.payload.get("severity") == "critical"
            self.notify(
                str(message.payload.get("message", "SLA alert")),
                title="SLA",
                severity="error" if critical else "warning",
            )
        if message.kind == "commit.analyzed":
            self.sub_title = "read-only" if self.read_only else ""

    # -- errors: one handler, never fatal --------------------------------------------------------
    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR:
            error = worker.error
            self.post_message(
                WorkerFailed(worker.name or worker.group, f"{type(error).__name__}: {error}")
            )
            if worker.group == "store-watch":
                self._arm_watch()

    @on(WorkerFailed)
    def _worker_failed(self, message: WorkerFailed) -> None:
        self.notify(message.error, title=f"{message.name} failed", severity="error", timeout=15)


def create_app(
    workspace: Workspace,
    *,
    read_only: bool = False,
    background: bool = True,
    clock: Callable[[], float] = time.time,
    runtime_factory: Callable[[Workspace, Store], Any] | None = None,
) -> ControlRoomApp:
    """The one app factory. ``background=False`` turns the runtime and the store watcher off
    (snapshots, tests); ``clock`` fixes "now" for ages; ``runtime_factory(workspace, store)``
    builds a runtime other than ``core.runtime.Runtime`` (tests give it their own agents)."""
    return ControlRoomApp(
        workspace,
        read_only=read_only,
        background=background,
        clock=clock,
        runtime_factory=runtime_factory,
    )
