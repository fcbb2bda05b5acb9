"""Idle-time ("hobby") sweeps over the whole tree: coverage, docs, complexity and the history index."""
