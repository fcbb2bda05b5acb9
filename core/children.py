"""Child processes an agent left behind when its timeout cancelled it, closed before the loop ends.

Our own agents kill and reap their children when cancelled (ruff, the sandbox, git). A plugin
agent may not: its subprocess transport then outlives the event loop, and when the child exits
and the transport is collected, ``__del__`` calls into the closed loop and prints
"RuntimeError: Event loop is closed" (and the child runs on, orphaned). A headless command calls
:func:`close_leftover_children` once every agent is done, while its loop still runs.
"""

from __future__ import annotations

import asyncio
import gc
from asyncio.base_subprocess import BaseSubprocessTransport


async def close_leftover_children(timeout: float = 2.0) -> int:
    """Kill and reap every subprocess of the running loop that is still open; returns how many.

    Call it only when nothing of this loop should have a child any more (the end of a run-once)."""
    loop = asyncio.get_running_loop()
    gc.collect()  # abandoned transports in reference cycles: closed now, with the loop alive
    left = [
        item
        for item in gc.get_objects()
        if isinstance(item, BaseSubprocessTransport)
        and getattr(item, "_loop", None) is loop
        and not item.is_closing()
    ]
    for transport in left:
        transport.close()  # SIGKILL to a running child, its pipes closed
    if left:
        waits = [asyncio.ensure_future(t._wait()) for t in left]  # the loop reaps each child
        _done, pending = await asyncio.wait(waits, timeout=timeout)
        for waiter in pending:
            waiter.cancel()
    return len(left)


__all__ = ["close_leftover_children"]
