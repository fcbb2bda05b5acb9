"""The test generator: finds untested changed functions, writes tests and validates them in the sandbox.

Entry point: ``controlroom.agents.testgen.agent:TestGeneratorAgent``.
"""
