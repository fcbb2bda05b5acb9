"""The impact (consequence) analyzer: API diff, deprecations, blast radius, performance and migrations.

Entry point: ``controlroom.agents.impact.agent:ImpactAgent``.
"""
