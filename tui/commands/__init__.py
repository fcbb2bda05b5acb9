"""Subcommands of ``controlroom``. Each module here has ``register(subparsers, common)``.

``register`` adds one subparser (with ``parents=[common]`` for --repo/--db/--config) and sets
``handler=<function(args) -> int>``. Modules are discovered, so adding a command is adding a file.
"""
