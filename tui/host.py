"""The running app as panes and screens see it: the pane contract (tui/panes/__init__.py) as a type.

Textual types ``widget.app`` as a plain ``App``; ``host(widget)`` is the same object, typed with the
attributes ``ControlRoomApp`` gives panes (its store is open before any pane or screen is mounted).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast

from textual.dom import DOMNode

from controlroom.core.store import Store
from controlroom.core.workspace import Workspace


class Host(Protocol):
    """What a pane or screen reads from the app."""

    store: Store
    workspace: Workspace
    clock: Callable[[], float]
    read_only: bool
    background: bool


def host(node: DOMNode) -> Host:
    """``node.app``, typed as the pane contract says."""
    return cast(Host, node.app)
