"""The one registry of actions: it drives key bindings, the footer, the ``?`` help screen and the
command palette, so a key is declared exactly once.

An :class:`Action` belongs to a *scope*: ``"app"`` (global keys, methods on the App), ``"table"``
(j/k/g/G on every table), a pane id (``"queue"``, ``"convergence"``, ``"sla"``, ``"costs"``,
``"subagents"``) or a screen id (``"details"``, ...). The widget that owns a scope declares
``BINDINGS = ACTIONS.bindings("<scope>")`` and implements ``action_<name>``; mixing in
:class:`RegistryActions` gives it a ``check_action`` that hides state-changing actions in
read-only mode and asks the widget's ``action_state(action)`` hook for the rest.

A pane module registers its own actions at import time, before its class body::

    ACTIONS.add(Action("sla.run_now", "n", "run_now", "Run checks", scope="sla", mutates=True))

    class SlaPane(RegistryActions, Widget):
        ACTION_SCOPE = "sla"
        BINDINGS = ACTIONS.bindings("sla")
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.binding import Binding, BindingType


@dataclass(frozen=True, slots=True)
class Action:
    """One user action. ``action`` is a Textual action string run on the scope's widget."""

    id: str  # globally unique, "queue.approve"; also the Binding id (user keymaps use it)
    keys: str  # Textual key spec; several keys separated by commas: "right_square_bracket"
    action: str  # "approve" or "show_pane('queue')": runs action_<name> on the scope's widget
    description: str  # short, for the footer and the palette
    scope: str = "app"
    mutates: bool = False  # changes the store: dropped in read-only mode
    show: bool = True  # shown in the footer
    palette: bool = True  # offered in the command palette
    key_display: str | None = None  # how help and footer print the key ("[", "space")
    help: str = ""  # one longer sentence for the help screen and the palette

    @property
    def name(self) -> str:
        """The method name without ``action_`` and without parameters."""
        return self.action.split("(", 1)[0]

    @property
    def display_keys(self) -> str:
        return self.key_display or self.keys.replace(",", "/")

    def binding(self) -> Binding:
        return Binding(
            self.keys,
            self.action,
            self.description,
            show=self.show,
            key_display=self.key_display,
            id=self.id,
        )


class ActionRegistry:
    """Actions by id, in registration order."""

    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}
        self._titles: dict[str, str] = {}

    def add(self, *actions: Action) -> None:
        """Register actions; adding the same id twice with a different definition is an error
        (re-adding an identical one, as a module reload does, is harmless)."""
        for action in actions:
            known = self._actions.get(action.id)
            if known is not None and known != action:
                raise ValueError(f"action id {action.id!r} is registered twice")
            self._actions[action.id] = action

    def title_scope(self, scope: str, title: str) -> None:
        """The heading of a scope on the help screen ("Queue pane")."""
        self._titles[scope] = title

    def title(self, scope: str) -> str:
        return self._titles.get(scope, scope.capitalize())

    def get(self, action_id: str) -> Action:
        return self._actions[action_id]

    def all(self) -> list[Action]:
        return list(self._actions.values())

    def scopes(self) -> list[str]:
        return list(dict.fromkeys(a.scope for a in self._actions.values()))

    def in_scope(self, scope: str) -> list[Action]:
        return [a for a in self._actions.values() if a.scope == scope]

    def find(self, scope: str, name: str) -> Action | None:
        """The first action of ``scope`` whose method is ``name`` (for ``check_action``)."""
        return next((a for a in self.in_scope(scope) if a.name == name), None)

    def bindings(self, scope: str) -> list[BindingType]:
        return [a.binding() for a in self.in_scope(scope)]

    def visible(self, scopes: Iterable[str], *, read_only: bool) -> list[Action]:
        """Actions of ``scopes`` that exist in this mode (read-only drops the mutating ones)."""
        wanted = set(scopes)
        return [
            a for a in self._actions.values() if a.scope in wanted and not (read_only and a.mutates)
        ]


ACTIONS = ActionRegistry()


class RegistryActions:
    """Mixin for a widget, screen or app owning a scope of the registry."""

    ACTION_SCOPE: ClassVar[str] = "app"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        spec = ACTIONS.find(self.ACTION_SCOPE, action)
        if spec is None:
            return True
        if spec.mutates and is_read_only(self):
            return False
        return self.action_state(action)

    def action_state(self, action: str) -> bool | None:
        """Override: True enabled, None shown but greyed out, False hidden."""
        return True


def is_read_only(node: Any) -> bool:
    """Whether the running app was started with ``--read-only``."""
    app = node if hasattr(node, "read_only") else getattr(node, "app", None)
    return bool(getattr(app, "read_only", False))


def _register_builtin() -> None:
    ACTIONS.title_scope("app", "Everywhere")
    ACTIONS.title_scope("table", "Tables")
    ACTIONS.title_scope("queue", "Queue pane")
    ACTIONS.title_scope("convergence", "Convergence pane")
    ACTIONS.title_scope("details", "Detail screens")
    pane_keys = [
        ("1", "queue", "Queue"),
        ("2", "convergence", "Convergence"),
        ("3", "sla", "SLA"),
        ("4", "costs", "Costs"),
        ("5", "subagents", "Sub-agents"),
    ]
    ACTIONS.add(
        *(
            Action(
                f"app.pane.{pane}",
                key,
                f"show_pane('{pane}')",
                title,
                show=False,
                help=f"Show the {title} pane",
            )
            for key, pane, title in pane_keys
        ),
        Action(
            "app.pane.previous",
            "left_square_bracket",
            "cycle_pane(-1)",
            "Prev pane",
            show=False,
            key_display="[",
            help="Show the previous pane",
        ),
        Action(
            "app.pane.next",
            "right_square_bracket",
            "cycle_pane(1)",
            "Next pane",
            show=False,
            key_display="]",
            help="Show the next pane",
        ),
        Action("app.help", "question_mark", "help", "Help", key_display="?", help="List every key"),
        Action(
            "app.palette",
            "ctrl+p",
            "command_palette",
            "Commands",
            show=False,
            palette=False,
            key_display="^p",
            help="Search every action available here",
        ),
        Action(
            "app.refresh",
            "ctrl+r",
            "refresh_now",
            "Refresh",
            show=False,
            key_display="^r",
            help="Reload the current pane from the store now",
        ),
        Action(
            "app.learning",
            "L",
            "learning",
            "Learning",
            show=False,
            help="What the queue learned: rules, fix success, top failures",
        ),
        Action(
            "app.history_search",
            "H",
            "history_search",
            "History",
            show=False,
            help="Search analyzed commits, hunks, findings and decisions",
        ),
        Action(
            "app.branches",
            "B",
            "branches",
            "Branches",
            show=False,
            help="The branches apply made: diff, merge onto the current branch, delete",
        ),
        Action("app.quit", "q", "quit", "Quit", help="Leave controlroom"),
        Action("table.down", "j", "cursor_down", "Down", scope="table", show=False, palette=False),
        Action("table.up", "k", "cursor_up", "Up", scope="table", show=False, palette=False),
        Action("table.first", "g", "first_row", "First row", scope="table", show=False),
        Action("table.last", "G", "last_row", "Last row", scope="table", show=False),
        Action(
            "details.back",
            "escape",
            "back",
            "Back",
            scope="details",
            key_display="esc",
            palette=False,
            help="Close this screen",
        ),
        Action("details.down", "j", "scroll_body(1)", "Down", scope="details", show=False,
               palette=False),
        Action("details.up", "k", "scroll_body(-1)", "Up", scope="details", show=False,
               palette=False),
    )  # fmt: skip


_register_builtin()
