"""An in-process event stream: the runtime publishes, the TUI (and tests) subscribe.

Other processes' work is seen through the store (``Store.data_version``), not through here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # "commit.analyzed", "tasks.changed", "runtime.error", "sla.result", ...
    payload: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)


class EventBus:
    """Fan-out to any number of subscribers; a slow subscriber loses its oldest events, never blocks."""

    def __init__(self, max_queue: int = 1000) -> None:
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._max_queue = max_queue

    def publish(self, kind: str, **payload: Any) -> Event:
        event = Event(kind, payload)
        for queue in list(self._subscribers):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)
        return event

    async def subscribe(self) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self._max_queue)
        self._subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)

    async def wait_for(self, kind: str, timeout: float | None = None) -> Event:
        """The next event of ``kind`` (for tests and scripts)."""

        async def first() -> Event:
            async for event in self.subscribe():
                if event.kind == kind:
                    return event
            raise RuntimeError("event stream ended")  # pragma: no cover

        return await asyncio.wait_for(first(), timeout)
