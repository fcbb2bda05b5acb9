"""Messages that workers and timers post to the app. Workers never touch widgets; handlers do.

Dataclass messages (as toolong does); bursts collapse through ``can_replace`` so a storm of store
changes or runtime events costs one refresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message


@dataclass
class StoreChanged(Message):
    """The store changed (another process committed, or the in-process runtime reported work)."""

    source: str = "store"  # "store" (data_version moved), "runtime", "operator"

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StoreChanged)


@dataclass
class StoreProbed(Message):
    """The store watcher looked at ``PRAGMA data_version``; the handler re-arms the timer."""

    version: int
    changed: bool


@dataclass
class RuntimeEvent(Message):
    """An event of the core runtime's bus, forwarded to the UI thread of control."""

    kind: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataRefreshed(Message):
    """Panes finished reloading from the store (tests wait on this, never on a sleep)."""

    panes: tuple[str, ...] = ()
    generation: int = 0

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DataRefreshed)


@dataclass
class WorkerFailed(Message):
    """A background job failed; shown as a non-fatal notice."""

    name: str
    error: str
