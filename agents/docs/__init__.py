"""The doc writer: missing and stale docstrings in the project's own convention, and the README.

Entry point: ``controlroom.agents.docs.agent:DocWriterAgent``.
"""
