"""The store side of the resolution cache: parsed test modules, kept across processes."""

from __future__ import annotations

import asyncio
from typing import Any

from controlroom.core.model import AgentCache


class StoreBridge:
    """``ctx.cache`` (async, on the event loop) for the resolution thread: parsed test modules kept
    by blob id in one cache entry, so a new process (``--run-once``) does not parse them again."""

    KEY = "test_module_usages"

    def __init__(self, cache: AgentCache, loop: asyncio.AbstractEventLoop) -> None:
        self.cache = cache
        self.loop = loop
        self.bundle: dict[str, dict[str, Any]] = {}

    def load(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        stored = asyncio.run_coroutine_threadsafe(self.cache.get(self.KEY), self.loop).result()
        self.bundle = stored if isinstance(stored, dict) else {}
        return {key: self.bundle[key] for key in keys if key in self.bundle}

    def save(self, items: dict[str, dict[str, Any]], live: set[str]) -> None:
        """Merge ``items``; entries of test modules no longer in the tree are dropped."""
        merged = {k: v for k, v in self.bundle.items() if k in live} | items
        self.bundle = merged
        asyncio.run_coroutine_threadsafe(self.cache.put(self.KEY, merged), self.loop).result()
