"""The LLM layer: one Anthropic client, routing, circuit breaker, cost ledger, budgets.

Agents get an :class:`core.llm.assistant.Assistant` through ``AgentContext.assistant(purpose)``;
nothing here imports textual, tui or agents.
"""
