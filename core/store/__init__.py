"""The store: one SQLite file, the single source of truth shared by the TUI, run-once and workers."""

from controlroom.core.store.db import Store, open_store

__all__ = ["Store", "open_store"]
