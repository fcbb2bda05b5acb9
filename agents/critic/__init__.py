"""The code critic: ruff with bandit's security rules, AST checks and the N+1 detector, on changed lines.

Entry point: ``controlroom.agents.critic.agent:CriticAgent``.
"""
